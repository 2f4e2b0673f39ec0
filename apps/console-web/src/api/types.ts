// Shapes of the answers the console reads (the services' controllers and docs). Fields the UI
// does not depend on are left as `unknown` and rendered generically.

export type Role = 'viewer' | 'editor' | 'admin';

export interface SessionUser {
  username: string;
  role: Role;
}

/** What the console's server tells the app about the deployment (docs/console.md "API"). */
export interface SpaSettings {
  /** The collector's public base URL (`COLLECTOR_PUBLIC_URL`); null when the console was not told. */
  collectorPublicUrl: string | null;
}

export interface SessionResponse {
  user: SessionUser;
  csrfToken: string;
  settings: SpaSettings;
}

export interface Identifier {
  type: string;
  value: string;
}

/** identity `GET /v1/identities/{type}/{value}` */
export interface IdentityLookup {
  identifier: Identifier;
  profileId: string | null;
  path: string[];
}

export interface MergeHistoryEntry {
  profileId: string;
  messageId: string;
  at: string;
}

/** identity `GET /v1/profiles/{id}` */
export interface IdentityProfileResponse {
  requestedId: string;
  profileId: string;
  redirected: boolean;
  path: string[];
  profile: {
    id: string;
    status: string;
    known: boolean;
    version: number;
    identifiers: Identifier[];
    mergeHistory: MergeHistoryEntry[];
    createdAt: string;
    updatedAt: string;
    splitFrom?: { profileId: string; operationId: string; at: string };
  };
}

export interface AuditRecord {
  id: string;
  kind: 'merge' | 'refused' | 'moved' | 'created' | 'split' | string;
  at: string;
  triggeringMessageId: string;
  rule: string;
  profileId: string;
  details: Record<string, unknown>;
}

export interface AuditResponse {
  profileId: string;
  records: AuditRecord[];
  next?: string;
}

/** enrichment `GET /v1/profiles/{id}` */
export interface EnrichmentProfileResponse {
  requestedId: string;
  profileId: string;
  redirected: boolean;
  profile: {
    id: string;
    version: number;
    known?: boolean;
    identifiers: Identifier[];
    traits: Record<string, unknown>;
    computed: Record<string, unknown> & { categoryAffinity?: { category: string; score: number }[] };
    mergedFrom: string[];
    createdAt: string;
    updatedAt: string;
    expiresAt?: string;
  };
}

/** enrichment `GET /v1/profiles/{id}/timeline` */
export interface TimelineEvent {
  messageId: string;
  at: string;
  receivedAt: string;
  type: string;
  event?: string;
  identifiers: Identifier[];
  raw: Record<string, unknown>;
  videoSession?: Record<string, unknown>;
}

export interface TimelineResponse {
  profileId: string;
  events: TimelineEvent[];
  next?: string;
}

/** enrichment `GET /v1/profiles/{id}/activity`: entries `[time ms, kind, label, identified 0|1, event id, anonymous 0|1]`, oldest first */
export interface ActivityResponse {
  requestedId: string;
  profileId: string;
  path: string[];
  entries: [number, string, string, 0 | 1, string, 0 | 1][];
  max: number;
  stored: boolean;
  identifiedSince?: string;
}

/** Why a profile entered a segment (segmentation's `EntryReason`); null when it entered before reasons were recorded. */
export interface EntryReason {
  trigger: {
    kind: 'event' | 'profile' | 'timer' | 'backfill' | 'merge' | 'clustering' | string;
    event?: string;
    messageId?: string;
    at?: string;
    changed?: string[];
    detail?: string;
  };
  matched: string[];
  moreMatched?: number;
}

/** segmentation `GET /v1/profiles/{id}/segments` */
export interface ProfileSegmentsResponse {
  profileId: string;
  /** `reason`/`why` are absent when the service predates them. */
  segments: { segmentKey: string; segmentVersion: number; since: string; reason?: EntryReason | null; why?: string }[];
  membershipVersion: number;
  nextTimerAt: string | null;
  mergedInto?: string;
}

export interface Backfill {
  version: number;
  status: 'running' | 'done' | 'failed' | string;
  total: number;
  processed: number;
  fraction: number;
  ratePerSecond: number;
  etaSeconds: number | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface Segment {
  key: string;
  version: number;
  status: 'active' | 'disabled' | string;
  definition: SegmentDefinitionJson;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
  size: number;
  backfill: Backfill | null;
  notEvaluated?: string;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A segment definition as JSON (libs/segmentation/domain `SegmentDefinition`). */
export interface SegmentDefinitionJson {
  key: string;
  name?: string;
  description?: string;
  priority?: number;
  exclusivityGroup?: string;
  condition: ConditionJson;
  [extra: string]: unknown;
}

/** A condition node: one of the language's condition kinds (kept as plain JSON). */
export type ConditionJson = Record<string, unknown>;

export interface SegmentVersion {
  version: number;
  at: string;
  by: string;
  definition: SegmentDefinitionJson;
}

export interface PreviewResponse {
  scanned: number;
  matched: number;
  total: number;
  complete: boolean;
  estimated: number;
  sample: string[];
}

export interface ValidationResponse {
  ok: boolean;
  errors?: { path: string; message: string }[];
}

/** activation `GET /v1/deliveries` */
export interface Delivery {
  id: string;
  destinationId: string;
  triggerId: string;
  profileId: string;
  segmentKey: string;
  change: string;
  status: string;
  skipReason?: string;
  attempts: number;
  createdAt: string;
  deliveredAt: string | null;
}

/** collector `GET /v1/sources` */
export interface Source {
  id: string;
  name: string;
  writeKeyPrefix?: string;
  serverKeyPrefix?: string;
  allowedOrigins?: string[];
  createdAt: string;
  updatedAt?: string;
  revokedAt?: string | null;
}

export interface CreatedSource extends Source {
  writeKey: string;
  serverKey: string;
  identitySecret: string;
}

/** segmentation `GET /v1/profiles`: one row of the contact list */
export interface ContactRow {
  profileId: string;
  email: string | null;
  userId: string | null;
  known: boolean;
  lastSeenAt: string | null;
  segments: string[];
}

/** segmentation `GET /v1/profiles`: a page (`partial`: the scan budget ended it before it was full) */
export interface ContactListPage {
  profiles: ContactRow[];
  next: string | null;
  partial: boolean;
  scanned: { queries: number; documents: number; shards: number };
  progress: number;
}

/** console `GET /api/live` (and the stream's `membership` event): one segment entry or exit */
export interface LiveMembership {
  profileId: string;
  segmentKey: string;
  change: 'entered' | 'exited';
  at: string;
  identifiers: { userId?: string; email?: string };
}

/** console `GET /api/live` (and the stream's `snapshot` event) */
export interface LiveSnapshot {
  at: string;
  eventsPerSecond: number;
  activeVisitors: number;
  recentMemberships: LiveMembership[];
  deadLetters: { topic: string; count: number | null }[];
  followers: { eventsRaw: boolean; membership: boolean };
  skipped: { eventsRaw: number; membership: number };
}
