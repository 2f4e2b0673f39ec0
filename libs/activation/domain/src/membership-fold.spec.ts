import fc from 'fast-check';
import { foldMembershipChanges, type MembershipStep } from './membership-fold';

const step = (profileId: string, segmentKey: string, change: MembershipStep['change'], profileVersion: number): MembershipStep => ({
  profileId,
  segmentKey,
  change,
  profileVersion,
});

/** Applies changes one at a time, each only when newer than the held version: the rule the fold stands for. */
function oneAtATime(held: { segments: string[]; version: number }, steps: readonly MembershipStep[]) {
  const segments = new Set(held.segments);
  let version = held.version;
  for (const s of steps) {
    if (s.profileVersion <= version) continue;
    if (s.change === 'entered') segments.add(s.segmentKey);
    else segments.delete(s.segmentKey);
    version = s.profileVersion;
  }
  return { segments: [...segments].sort(), version };
}

function applyFold(held: { segments: string[]; version: number }, steps: readonly MembershipStep[]) {
  const [f] = foldMembershipChanges(steps);
  if (!f || held.version >= f.fromVersion) throw new Error('the fold applies over an older document only');
  const segments = new Set(held.segments.filter((k) => !f.exit.includes(k)));
  for (const k of f.enter) segments.add(k);
  return { segments: [...segments].sort(), version: f.toVersion };
}

describe('foldMembershipChanges', () => {
  it('folds each profile to the last change of each segment, between its first and last versions', () => {
    const folds = foldMembershipChanges([
      step('p1', 'vip', 'entered', 4),
      step('p2', 'new', 'exited', 9),
      step('p1', 'cart', 'entered', 5),
      step('p1', 'vip', 'exited', 6),
      step('p1', 'cart', 'exited', 7),
      step('p1', 'cart', 'entered', 8),
    ]);
    expect(folds).toEqual([
      { profileId: 'p1', fromVersion: 4, toVersion: 8, enter: ['cart'], exit: ['vip'] },
      { profileId: 'p2', fromVersion: 9, toVersion: 9, enter: [], exit: ['new'] },
    ]);
  });

  it("orders a profile's changes by version, not by their place in the batch", () => {
    expect(foldMembershipChanges([step('p', 'vip', 'exited', 3), step('p', 'vip', 'entered', 2)])).toEqual([
      { profileId: 'p', fromVersion: 2, toVersion: 3, enter: [], exit: ['vip'] },
    ]);
  });

  it('is nothing for an empty batch', () => {
    expect(foldMembershipChanges([])).toEqual([]);
  });

  it('ends where applying the changes one at a time ends, over any document older than the batch', () => {
    const segment = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.uniqueArray(segment),
        fc.nat({ max: 5 }),
        fc.array(fc.record({ segmentKey: segment, entered: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        (segments, version, changes) => {
          const held = { segments, version };
          const steps = changes.map((c, i) => step('p', c.segmentKey, c.entered ? 'entered' : 'exited', version + 1 + i));
          expect(applyFold(held, steps)).toEqual(oneAtATime(held, steps));
        },
      ),
    );
  });
});
