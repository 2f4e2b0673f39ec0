/**
 * A sticky (but, like everything in kafkajs 2.2.4, eager) partition assigner: on a rebalance,
 * members keep the partitions they owned as far as a balanced assignment allows, so per-instance
 * caches stay warm and fewer partitions change hands. It is NOT the cooperative protocol
 * (KIP-429): every member still stops and re-joins on each rebalance (see README).
 */
import { AssignerProtocol, type Assigner, type PartitionAssigner } from 'kafkajs';

export const STICKY_ASSIGNER_NAME = 'MosaicStickyAssigner';
const VERSION = 1;

/** Partitions per topic. */
export type Ownership = Record<string, number[]>;

export function encodeOwnership(owned: Ownership): Buffer {
  return Buffer.from(JSON.stringify({ v: VERSION, owned }), 'utf8');
}

/** Decodes a member's user data; anything unreadable counts as "owns nothing". */
export function decodeOwnership(userData: Buffer | null | undefined): Ownership {
  if (!userData || userData.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(userData.toString('utf8'));
    const owned = (parsed as { owned?: unknown }).owned;
    if (typeof owned !== 'object' || owned === null || Array.isArray(owned)) return {};
    const out: Ownership = {};
    for (const [topic, partitions] of Object.entries(owned)) {
      if (Array.isArray(partitions)) out[topic] = partitions.filter((p): p is number => Number.isInteger(p) && p >= 0);
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Balanced assignment of `partitions` to members (each gets ⌊n/m⌋ or ⌈n/m⌉) that keeps as many
 * previously owned partitions with their owner as possible. Deterministic: every leader computes
 * the same result for the same input.
 */
export function stickyAssign(members: readonly { memberId: string; previous: readonly number[] }[], partitions: readonly number[]): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  if (members.length === 0) return result;
  const all = [...new Set(partitions)].sort((a, b) => a - b);
  const valid = new Set(all);
  const byId = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  for (const m of byId) result[m.memberId] = [];
  const base = Math.floor(all.length / byId.length);
  const extra = all.length % byId.length;
  const prev = new Map(byId.map((m) => [m.memberId, [...new Set(m.previous)].filter((p) => valid.has(p)).sort((a, b) => a - b)]));
  // Members that owned the most get the larger quotas, so fewer partitions move.
  const byOwned = [...byId].sort((a, b) => (prev.get(b.memberId)?.length ?? 0) - (prev.get(a.memberId)?.length ?? 0));
  const quota = new Map(byOwned.map((m, i) => [m.memberId, base + (i < extra ? 1 : 0)]));
  const taken = new Set<number>();
  for (const m of byOwned) {
    const mine = result[m.memberId] as number[];
    for (const p of prev.get(m.memberId) ?? []) {
      if (mine.length >= (quota.get(m.memberId) ?? 0)) break;
      if (taken.has(p)) continue;
      taken.add(p);
      mine.push(p);
    }
  }
  const free = all.filter((p) => !taken.has(p));
  for (const m of byId) {
    const mine = result[m.memberId] as number[];
    while (mine.length < (quota.get(m.memberId) ?? 0) && free.length > 0) mine.push(free.shift() as number);
    mine.sort((a, b) => a - b);
  }
  return result;
}

/**
 * kafkajs `PartitionAssigner` using {@link stickyAssign}. `owned()` returns what this member owns
 * now (the ConsumerHost tracks it from GROUP_JOIN events); it is sent in the join metadata.
 */
export function createStickyAssigner(owned: () => Ownership): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: STICKY_ASSIGNER_NAME,
      version: VERSION,
      async assign({ members, topics }) {
        const decoded = members.map((m) => ({
          memberId: m.memberId,
          owned: decodeOwnership(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData),
        }));
        const assignment: Record<string, Record<string, number[]>> = {};
        for (const m of decoded) assignment[m.memberId] = {};
        for (const topic of topics) {
          const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
          const perMember = stickyAssign(
            decoded.map((m) => ({ memberId: m.memberId, previous: m.owned[topic] ?? [] })),
            partitions,
          );
          for (const [memberId, ps] of Object.entries(perMember)) if (ps.length > 0) (assignment[memberId] as Record<string, number[]>)[topic] = ps;
        }
        return Object.entries(assignment).map(([memberId, a]) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: VERSION, assignment: a, userData: Buffer.alloc(0) }),
        }));
      },
      protocol({ topics }) {
        return {
          name: STICKY_ASSIGNER_NAME,
          metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData: encodeOwnership(owned()) }),
        };
      },
    };
    return assigner;
  };
}
