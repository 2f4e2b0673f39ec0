/**
 * A batch of `segments.membership` changes as one write per profile. A profile's membership
 * version rises by one with every change it publishes, so applying its changes one at a time,
 * each only when newer than what is held, ends where applying the fold once does when what is
 * held is older than the batch's first change: every segment as its last change left it, the
 * version at the last change. When what is held lies inside the batch's range, the fold must not
 * be applied (the writer then applies the changes one at a time).
 */
import type { SegmentMembershipChange } from '@mosaic/contracts';

export type MembershipStep = Pick<SegmentMembershipChange, 'profileId' | 'segmentKey' | 'change' | 'profileVersion'>;

export interface FoldedMembership {
  profileId: string;
  /** The oldest change's version: the fold applies only over a document held at an older one. */
  fromVersion: number;
  /** The newest change's version: the document's version after the fold. */
  toVersion: number;
  /** Segments whose last change in the batch is `entered`, in the order of their first change. */
  enter: string[];
  /** Segments whose last change in the batch is `exited`. */
  exit: string[];
}

/** One fold per profile, in order of the profile's first change in the batch. */
export function foldMembershipChanges(changes: readonly MembershipStep[]): FoldedMembership[] {
  const byProfile = new Map<string, MembershipStep[]>();
  for (const c of changes) {
    const steps = byProfile.get(c.profileId);
    if (steps) steps.push(c);
    else byProfile.set(c.profileId, [c]);
  }
  return [...byProfile.entries()].map(([profileId, steps]) => foldProfile(profileId, steps));
}

function foldProfile(profileId: string, steps: readonly MembershipStep[]): FoldedMembership {
  const inOrder = [...steps].sort((a, b) => a.profileVersion - b.profileVersion);
  const last = new Map<string, SegmentMembershipChange['change']>();
  for (const s of inOrder) last.set(s.segmentKey, s.change);
  const keys = [...last.keys()];
  return {
    profileId,
    fromVersion: (inOrder[0] as MembershipStep).profileVersion,
    toVersion: (inOrder[inOrder.length - 1] as MembershipStep).profileVersion,
    enter: keys.filter((k) => last.get(k) === 'entered'),
    exit: keys.filter((k) => last.get(k) !== 'entered'),
  };
}
