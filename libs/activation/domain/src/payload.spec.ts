import type { SegmentMembershipChange } from '@mosaic/contracts';
import { eventTypeOf, membershipPayload, serializePayload } from './payload';

const CHANGE: SegmentMembershipChange = {
  profileId: 'prof_1',
  segmentKey: 'vip-offer',
  segmentVersion: 3,
  change: 'entered',
  at: '2026-01-01T10:00:00.000Z',
  reason: { kind: 'message', messageId: 'msg-9' },
  identifiers: { userId: 'u1', email: 'ada@example.com' },
  profileVersion: 42,
};

describe('membershipPayload', () => {
  it('builds the documented shape', () => {
    expect(membershipPayload(CHANGE, { id: 'dlv_x' })).toEqual({
      type: 'segment.entered',
      id: 'dlv_x',
      timestamp: '2026-01-01T10:00:00.000Z',
      data: {
        profileId: 'prof_1',
        segmentKey: 'vip-offer',
        segmentVersion: 3,
        identifiers: { userId: 'u1', email: 'ada@example.com' },
        reason: { kind: 'message', messageId: 'msg-9' },
        profileVersion: 42,
      },
    });
  });

  it('types exits and leaves absent identifiers out', () => {
    const p = membershipPayload({ ...CHANGE, change: 'exited', identifiers: {}, reason: { kind: 'timer' } }, { id: 'dlv_y' });
    expect(p.type).toBe('segment.exited');
    expect(Object.keys(p.data.identifiers)).toEqual([]);
    expect(Object.keys(membershipPayload({ ...CHANGE, identifiers: { email: 'e@x.y' } }, { id: 'dlv_z' }).data.identifiers)).toEqual(['email']);
    expect(serializePayload(p)).not.toContain('undefined');
    expect(Object.keys(p.data.reason)).toEqual(['kind']);
  });

  it('includes a copy of the profile when known', () => {
    const profile = { traits: { plan: 'pro' }, computed: { orders: { count: 3 } } };
    const p = membershipPayload(CHANGE, { id: 'dlv_x', profile });
    expect(p.data.profile).toEqual(profile);
    profile.traits.plan = 'free';
    expect(p.data.profile?.traits['plan']).toBe('pro');
  });

  it('ignores extra fields of the change (only the documented ones are sent)', () => {
    const change = { ...CHANGE, secretInternal: 1, identifiers: { ...CHANGE.identifiers, anonymousId: 'a' } } as SegmentMembershipChange;
    expect(serializePayload(membershipPayload(change, { id: 'dlv_x' }))).not.toMatch(/secretInternal|anonymousId/);
  });
});

describe('serializePayload', () => {
  it('is compact JSON that parses back to the payload', () => {
    const p = membershipPayload(CHANGE, { id: 'dlv_x' });
    const body = serializePayload(p);
    expect(body).not.toMatch(/\n| {2}/);
    expect(JSON.parse(body)).toEqual(p);
    expect(body.startsWith('{"type":"segment.entered","id":"dlv_x","timestamp":')).toBe(true);
  });

  it('maps directions to event types', () => {
    expect([eventTypeOf('entered'), eventTypeOf('exited')]).toEqual(['segment.entered', 'segment.exited']);
  });
});
