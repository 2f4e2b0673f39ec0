/**
 * What the resolution planner (planner.ts) takes and gives: its input, the plan it returns
 * and the decisions a plan reports (merges, moves, refusals).
 */
import type { ExtractedIdentifiers } from './extract';
import type { Identifier } from './identifier';
import type { AuditRecord, GraphView, GraphWrite, MergeNoticePayload } from './model';
import type { IdentityRules } from './rules';

export interface PlanResolutionInput {
  messageId: string;
  extraction: ExtractedIdentifiers;
  view: GraphView;
  rules: IdentityRules;
  now: Date;
  /** Called only when a profile is created. */
  newProfileId: () => string;
  /**
   * Profiles an earlier attempt of this message wrote before a conflict (resolve.ts passes
   * them): analysed and tidied if needed; one it created that holds nothing is reused
   * instead of creating another profile.
   */
  alsoTidy?: readonly string[];
}

export interface LimitViolation {
  type: string;
  limit: number;
  /** How many identifiers of `type` the profile would have. */
  count: number;
}

export type RefusalReason = 'merge-refused' | 'attach-refused';

export interface RefusedIdentifier {
  identifier: Identifier;
  reason: RefusalReason;
  /** `limit:<type>` (or `priority` when a move was not allowed because of it). */
  rule: string;
  /** The profile it stays on (merge refused and not moved). */
  ownerProfileId?: string;
  violation: LimitViolation;
}

export interface PlannedMerge {
  loserId: string;
  survivorId: string;
  movedIdentifiers: Identifier[];
  /** The merge already happened in an earlier attempt of this message (re-emitted). */
  derived: boolean;
}

export interface PlannedMove {
  identifier: Identifier;
  fromProfileId: string;
  toProfileId: string;
  rule: string;
}

export interface ResolutionPlan {
  messageId: string;
  /** The profile the event resolves to. */
  profileId: string;
  /** The identifiers the event resolved with (refused ones excluded), by priority. */
  identifiers: Identifier[];
  writes: GraphWrite[];
  creates: { profileId: string; identifiers: Identifier[] }[];
  attaches: { profileId: string; identifiers: Identifier[] }[];
  merges: PlannedMerge[];
  moves: PlannedMove[];
  refused: RefusedIdentifier[];
  audit: AuditRecord[];
  /** Merge notices, in the order they must precede the event on `events.resolved`. */
  notices: MergeNoticePayload[];
}

export class NoIdentifiersError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} has no usable identifier`);
    this.name = 'NoIdentifiersError';
  }
}
