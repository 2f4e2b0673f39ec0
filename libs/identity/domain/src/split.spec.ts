import type { GraphWrite } from './model';
import { planSplit, splitProfile, type SplitRequest } from './split';
import { identify, makeBed, page, T0 } from './test-helpers';
import { loadProfileView } from './loader';

const QUIESCENT = { quiescent: true, strictRedirects: true };

/** A profile wrongly merged from two people: Ann (userId, email) and a stranger's cookie + phone. */
async function wronglyMerged() {
  const bed = makeBed();
  await bed.send(page({ anonymousId: 'stranger-cookie', phone: '+4915112345678' }));
  const ann = (await bed.send(identify({ userId: 'ann', email: 'ann@x.io', anonymousId: 'ann-phone' }))).profileId as string;
  await bed.send(page({ anonymousId: 'stranger-cookie', email: 'ann@x.io' })); // the wrong link
  expect(bed.profileOf('phone', '+4915112345678')).toBe(ann);
  return { bed, ann };
}

const deps = (bed: ReturnType<typeof makeBed>) => ({ rules: bed.rules, now: () => new Date(bed.now()), newProfileId: () => 'p-split' });

describe('splitProfile', () => {
  it('moves the named identifiers to a new profile and emits audit and notice', async () => {
    const { bed, ann } = await wronglyMerged();
    const request: SplitRequest = {
      profileId: ann,
      identifiers: [
        { type: 'anonymousId', value: 'stranger-cookie' },
        { type: 'phone', value: '+4915112345678' },
      ],
      reason: 'stranger clicked a forwarded email',
      operationId: 'split:1',
    };
    const out = await splitProfile(bed.store, request, deps(bed));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.plan.newProfileId).toBe('p-split');
    expect(out.plan.notice).toEqual({
      kind: 'split',
      fromProfileId: ann,
      newProfileId: 'p-split',
      identifiers: [
        { type: 'anonymousId', value: 'stranger-cookie' },
        { type: 'phone', value: '+4915112345678' },
      ],
      reason: 'stranger clicked a forwarded email',
      at: new Date(bed.now()).toISOString(),
    });
    expect(out.plan.audit.map((a) => [a.kind, a.rule, a.profileId, a.triggeringMessageId])).toEqual([
      ['split', 'admin-split', ann, 'split:1'],
      ['created', 'admin-split', 'p-split', 'split:1'],
    ]);
    expect(bed.profileOf('anonymousId', 'stranger-cookie')).toBe('p-split');
    expect(bed.profileOf('phone', '+4915112345678')).toBe('p-split');
    expect(bed.profileOf('email', 'ann@x.io')).toBe(ann);
    expect(bed.profileOf('anonymousId', 'ann-phone')).toBe(ann);
    const created = bed.store.snapshot().profiles.find((p) => p._id === 'p-split');
    expect(created).toMatchObject({ splitFrom: { profileId: ann, operationId: 'split:1' }, known: false, pending: [] });
    const record = bed.store.snapshot().identifiers.find((r) => r._id === 'phone:+4915112345678');
    expect(record).toMatchObject({ movedFrom: ann, movedBy: 'split:1' });
    expect(bed.invariants(QUIESCENT)).toEqual([]);
    // Later events of the stranger's cookie go to the new profile.
    expect((await bed.send(page({ anonymousId: 'stranger-cookie' }))).profileId).toBe('p-split');
  });

  it('is idempotent per operation id: a re-sent request reports the split with no writes', async () => {
    const { bed, ann } = await wronglyMerged();
    const request: SplitRequest = { profileId: ann, identifiers: [{ type: 'anonymousId', value: 'stranger-cookie' }], reason: 'r', operationId: 'split:2' };
    const first = await splitProfile(bed.store, request, deps(bed));
    const before = bed.store.snapshot();
    const again = await splitProfile(bed.store, request, { ...deps(bed), newProfileId: () => 'never' });
    expect(again.ok && again.plan.alreadyApplied).toBe(true);
    expect(again.ok && again.plan.newProfileId).toBe(first.ok && first.plan.newProfileId);
    expect(bed.store.snapshot()).toEqual(before);
  });

  it('a crash after any prefix is completed by retrying the same operation, into the same new profile', async () => {
    const reference = await wronglyMerged();
    const request: SplitRequest = {
      profileId: reference.ann,
      identifiers: [
        { type: 'anonymousId', value: 'stranger-cookie' },
        { type: 'phone', value: '+4915112345678' },
      ],
      reason: 'r',
      operationId: 'split:3',
    };
    const full = await splitProfile(reference.bed.store, request, deps(reference.bed));
    if (!full.ok) throw new Error('split failed');
    for (let k = 1; k < full.plan.writes.length; k += 1) {
      const { bed } = await wronglyMerged();
      for (const write of full.plan.writes.slice(0, k) as GraphWrite[]) expect(await bed.store.applyWrite(write)).toBe('applied');
      expect(bed.invariants()).toEqual([]);
      const retried = await splitProfile(bed.store, request, { ...deps(bed), newProfileId: () => 'p-other' });
      expect(retried.ok).toBe(true);
      expect(retried.ok && retried.plan.newProfileId).toBe('p-split');
      expect(bed.profileOf('phone', '+4915112345678')).toBe('p-split');
      expect(bed.invariants(QUIESCENT)).toEqual([]);
    }
  });

  it.each<[string, Partial<SplitRequest>, string, string]>([
    ['no identifiers', { identifiers: [] }, 'identifiers', 'at least one'],
    ['unknown type', { identifiers: [{ type: 'twitter', value: 'x' }] }, 'identifiers[0].type', 'unknown identifier type'],
    ['empty value', { identifiers: [{ type: 'email', value: ' ' }] }, 'identifiers[0].value', 'non-empty'],
    [
      'duplicate',
      {
        identifiers: [
          { type: 'email', value: 'ann@x.io' },
          { type: 'email', value: 'ann@x.io' },
        ],
      },
      'identifiers[1]',
      'duplicate',
    ],
    ['not on the profile', { identifiers: [{ type: 'email', value: 'bob@x.io' }] }, 'identifiers[0]', 'does not belong'],
    [
      'every identifier',
      {
        identifiers: ['userId:ann', 'email:ann@x.io', 'anonymousId:ann-phone', 'anonymousId:stranger-cookie', 'phone:+4915112345678'].map((k) => ({
          type: k.slice(0, k.indexOf(':')),
          value: k.slice(k.indexOf(':') + 1),
        })),
      },
      'identifiers',
      'at least one must stay',
    ],
    ['no reason', { reason: '' }, 'reason', 'say why'],
    ['unknown profile', { profileId: 'nope' }, 'profileId', 'not found'],
  ])('refuses: %s', async (_name, patch, path, message) => {
    const { bed, ann } = await wronglyMerged();
    const before = bed.store.snapshot();
    const out = await splitProfile(
      bed.store,
      { profileId: ann, identifiers: [{ type: 'anonymousId', value: 'stranger-cookie' }], reason: 'r', operationId: 'split:x', ...patch },
      deps(bed),
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.errors).toContainEqual({ path, message: expect.stringContaining(message) });
    expect(bed.store.snapshot()).toEqual(before);
  });

  it('refuses to split a merged profile and names its survivor', async () => {
    const bed = makeBed();
    const anon = (await bed.send(page({ anonymousId: 'c' }))).profileId as string;
    const known = (await bed.send(identify({ userId: 'u' }))).profileId;
    await bed.send(identify({ userId: 'u', anonymousId: 'c' }));
    const out = await splitProfile(
      bed.store,
      { profileId: anon, identifiers: [{ type: 'anonymousId', value: 'c' }], reason: 'r', operationId: 's' },
      deps(bed),
    );
    expect(out).toMatchObject({ ok: false, errors: [{ path: 'profileId', message: `profile was merged into ${known}: split that profile` }] });
  });

  it('refuses while another operation is in progress on the profile', async () => {
    const { bed, ann } = await wronglyMerged();
    const view = await loadProfileView(bed.store, ann);
    const profile = view.profiles.get(ann);
    if (!profile) throw new Error('missing');
    const busy = {
      ...profile,
      version: profile.version + 1,
      pending: [{ kind: 'acquire' as const, type: 'email', value: 'new@x.io', messageId: 'in-flight', at: new Date(bed.now()).toISOString() }],
      identifiers: [...profile.identifiers, { type: 'email', value: 'new@x.io' }],
    };
    await bed.store.applyWrite({ op: 'replaceProfile', expectedVersion: profile.version, profile: busy });
    const out = planSplit({
      profileId: ann,
      identifiers: [{ type: 'userId', value: 'ann' }],
      reason: 'r',
      operationId: 's',
      view: await loadProfileView(bed.store, ann),
      rules: bed.rules,
      now: new Date(T0),
      newProfileId: () => 'x',
    });
    expect(out).toMatchObject({ ok: false, errors: [{ path: 'profileId', message: expect.stringContaining('in progress') }] });
  });

  it('is not blocked by the leftover claim of a message that completed', async () => {
    const { bed, ann } = await wronglyMerged();
    const view = await loadProfileView(bed.store, ann);
    const profile = view.profiles.get(ann);
    if (!profile) throw new Error('missing');
    const done = bed.store.processedRecords()[0]?._id as string;
    const leftover = {
      ...profile,
      version: profile.version + 1,
      pending: [{ kind: 'acquire' as const, type: 'email', value: 'gone@x.io', messageId: done, at: new Date(bed.now()).toISOString() }],
      identifiers: [...profile.identifiers, { type: 'email', value: 'gone@x.io' }],
    };
    await bed.store.applyWrite({ op: 'replaceProfile', expectedVersion: profile.version, profile: leftover });
    const out = await splitProfile(
      bed.store,
      { profileId: ann, identifiers: [{ type: 'anonymousId', value: 'stranger-cookie' }], reason: 'r', operationId: 's' },
      deps(bed),
    );
    expect(out.ok).toBe(true);
    expect(
      bed.store
        .snapshot()
        .profiles.find((p) => p._id === ann)
        ?.identifiers.map((i) => i.value),
    ).not.toContain('gone@x.io');
  });

  it('splitting off the userId makes the new profile known and the old one anonymous', async () => {
    const { bed, ann } = await wronglyMerged();
    const out = await splitProfile(bed.store, { profileId: ann, identifiers: [{ type: 'userId', value: 'ann' }], reason: 'r', operationId: 's' }, deps(bed));
    expect(out.ok).toBe(true);
    const profiles = new Map(bed.store.snapshot().profiles.map((p) => [p._id, p]));
    expect(profiles.get('p-split')?.known).toBe(true);
    expect(profiles.get(ann)?.known).toBe(false);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });
});
