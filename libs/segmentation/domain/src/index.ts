export * from './definition';
export { validateDefinition, checkReferences } from './validate';
export { analyzeReferenceGraph, referencesOf, type ReferenceCycle, type SegmentReference } from './reference-graph';
export type { ValidationError, ValidationResult, ReferenceError, ReferenceResult } from './validate';
export { SEGMENT_DEFINITION_SCHEMA, SEGMENT_EXAMPLES } from './schema';
export { evaluate, evalWindow, evalSequence, affects } from './evaluate';
export type { EvaluationInput, EvaluationContext, Evaluation, ChangeLike, Outcome } from './evaluate';
export {
  addOccurrence,
  prune,
  pruneAll,
  addFirst,
  addThenNot,
  emptyWindow,
  windowCap,
  emptySequence,
  compareOccurrences,
  matchesStep,
  occurrenceOf,
  observeEvent,
  eventOfChange,
  eventNameOf,
  DEFAULT_WINDOW_CAP,
  DEFAULT_SEQUENCE_CAP,
} from './windows';
export type { Occurrence, WindowState, SequenceState, ConditionState, ProfileWindows, ObservedEvent } from './windows';
export { compare, readPath, readTrait, fieldKey, isoTime, toNumber } from './values';
export { resolveExclusivity } from './exclusivity';
export {
  explainEntry,
  triggerOfChange,
  describeCondition,
  describeTrigger,
  describeReason,
  requirementText,
  isEntryReason,
  NO_REASON_TEXT,
  REASON_LIMITS,
} from './explain';
export type { EntryReason, EntryTrigger, EntryTriggerKind } from './explain';
export type { ExclusivityCandidate } from './exclusivity';
export {
  planSegments,
  emptyState,
  nextTimerAt,
  mainIdentifiers,
  observe,
  applyChange,
  applyTimer,
  applyDefinitions,
  applyCluster,
  absorbMerged,
  mergeWindows,
  windowsFromEvents,
  lookbackMs,
  APPLIED_RING,
} from './engine';
export type { ActiveSegment, SegmentPlan, CompactView, Membership, ProfileSegmentState, MembershipDelta, StepResult, ChangeInput, ReasonKind } from './engine';
export {
  mulberry32,
  affinityScores,
  featureNames,
  extractFeatures,
  topCategories,
  fitScaler,
  scale,
  unscale,
  kmeans,
  assign,
  featurePhrase,
  describeCentroid,
  clusterSegmentKey,
  stableClusterOrder,
  matchClusters,
  relabelClusters,
} from './clustering';
export type { ClusterProfile, FeatureOptions, Scaler, KMeansOptions, KMeansResult, DescribeOptions } from './clustering';
export { MAX_SIZE_HISTORY_DAYS, intervalStartOf, dayOf, daysBetween, pointsInRange } from './size-history';
export type { SizePoint } from './size-history';
export {
  LIST_SHARDS,
  SHARDS_PER_BLOCK,
  LIST_BLOCKS,
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  SEEN_DAYS_READ_MAX,
  seenDayOf,
  seenDaysToRead,
  fnv1a,
  listShardOf,
  listBlockOf,
  listFieldsOf,
  filterFingerprint,
  encodeListCursor,
  decodeListCursor,
  MIN_CURSOR_DENSITY,
  SHARDS_READ,
  nextSpan,
  nextSpans,
  finerSpan,
  filterNarrowsRead,
  densityOf,
  matchesInMemory,
  takeFromSpan,
} from './profile-list';
export type { ProfileListFields, ProfileListFilter, ListPosition, ListCursor, ListSpan, SpanField, SpanLimits, ListedDoc, CursorResult } from './profile-list';
export { parseProfileListQuery } from './profile-list-query';
export type { ProfileListQueryInput, ProfileListQuery, ProfileListQueryResult } from './profile-list-query';
