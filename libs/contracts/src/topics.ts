/**
 * Topic names and their properties. Every topic Mosaic uses is declared here and nowhere
 * else; services provision them at start-up from these specs (never broker auto-creation).
 */
export const DEFAULT_TOPIC_PREFIX = 'mosaic.';

export type TopicKey =
  | 'eventsIngest'
  | 'eventsBad'
  | 'eventsRaw'
  | 'eventsResolved'
  | 'profilesChanges'
  | 'segmentsMembership'
  | 'sources'
  | 'identityProfileWrites'
  | 'dlqCollector'
  | 'dlqIdentity'
  | 'dlqEnrichment'
  | 'dlqSegmentation'
  | 'dlqActivation';

export interface TopicSpec {
  /** Stable logical key used in code. */
  key: TopicKey;
  /** Name without the prefix, e.g. `events.raw`. */
  suffix: string;
  /** What the record key is (documentation and validation). */
  keyedBy: string;
  /** `compact` keeps the last record per key (the public membership topic). */
  cleanupPolicy: 'delete' | 'compact';
  /** Retention for `delete` topics, in milliseconds; -1 for infinite. */
  retentionMs: number;
  /** `segment.ms` for a short-lived `delete` topic: Kafka deletes only whole segments, so `retentionMs` alone keeps up to a segment (1 GB by default). */
  segmentMs?: number;
  description: string;
}

const DAY = 24 * 60 * 60 * 1000;

export const TOPIC_SPECS: Readonly<Record<TopicKey, TopicSpec>> = Object.freeze({
  eventsIngest: {
    key: 'eventsIngest',
    suffix: 'events.ingest',
    keyedBy: 'anonymousId, else userId (set by the producing client; Mosaic does not read it)',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY,
    description:
      'Public input: plain Segment-spec JSON from any Kafka producer, one message or one `batch` body per record, the source named by the `writeKey` header. No envelope.',
  },
  eventsBad: {
    key: 'eventsBad',
    suffix: 'events.bad',
    keyedBy: 'the key of the refused record',
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY,
    description: 'Public: records of events.ingest the collector refused, with the original bytes, the source and the reasons.',
  },
  eventsRaw: {
    key: 'eventsRaw',
    suffix: 'events.raw',
    keyedBy: 'anonymousId, else userId',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY,
    description: 'Events accepted by the collector, as received (normalised Segment spec).',
  },
  eventsResolved: {
    key: 'eventsResolved',
    suffix: 'events.resolved',
    keyedBy: 'profileId',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY,
    description: 'Events with their resolved profile id, and merge/split notices.',
  },
  profilesChanges: {
    key: 'profilesChanges',
    suffix: 'profiles.changes',
    keyedBy: 'profileId',
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY,
    description: 'What changed on a profile, with the compact view segmentation needs.',
  },
  segmentsMembership: {
    key: 'segmentsMembership',
    suffix: 'segments.membership',
    keyedBy: 'profileId (record key `<profileId>|<segmentKey>` so compaction keeps current membership)',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    description: 'Public: one message per segment entry or exit.',
  },
  sources: {
    key: 'sources',
    suffix: 'sources',
    keyedBy: 'sourceId',
    cleanupPolicy: 'compact',
    retentionMs: -1,
    description:
      'Internal: the current access settings of every collector source (key digests, identity secret, allowed origins, revocation), read from the start by every collector and activation instance. Carries secrets: not for other teams.',
  },
  identityProfileWrites: {
    key: 'identityProfileWrites',
    suffix: 'identity.profile-writes',
    keyedBy: 'the writing identity instance',
    cleanupPolicy: 'delete',
    retentionMs: 10 * 60 * 1000,
    segmentMs: 60 * 1000,
    description:
      'Internal to identity: the ids of the identity profiles each batch (or split) changed, read from the beginning by every identity instance to drop them from its profile cache.',
  },
  dlqCollector: dlq('dlqCollector', 'collector'),
  dlqIdentity: dlq('dlqIdentity', 'identity'),
  dlqEnrichment: dlq('dlqEnrichment', 'enrichment'),
  dlqSegmentation: dlq('dlqSegmentation', 'segmentation'),
  dlqActivation: dlq('dlqActivation', 'activation'),
});

function dlq(key: TopicKey, service: string): TopicSpec {
  return {
    key,
    suffix: `dlq.${service}`,
    keyedBy: 'the key of the failed message',
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY,
    description: `Messages the ${service} service could not process after bounded retries, with the error.`,
  };
}

export type ServiceName = 'collector' | 'identity' | 'enrichment' | 'segmentation' | 'activation';

export const DLQ_TOPIC_OF: Readonly<Record<ServiceName, TopicKey>> = Object.freeze({
  collector: 'dlqCollector',
  identity: 'dlqIdentity',
  enrichment: 'dlqEnrichment',
  segmentation: 'dlqSegmentation',
  activation: 'dlqActivation',
});

/** Valid prefix: empty, or letters/digits/`._-` ending in `.` or `-` or `_`. */
const PREFIX_RE = /^([A-Za-z0-9._-]*[._-])?$/;

export function assertValidTopicPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix) || prefix.length > 100) {
    throw new Error(`invalid topic prefix ${JSON.stringify(prefix)}: use letters, digits, '.', '_' or '-', ending in '.', '_' or '-'`);
  }
}

export function topicName(prefix: string, key: TopicKey): string {
  assertValidTopicPrefix(prefix);
  return `${prefix}${TOPIC_SPECS[key].suffix}`;
}

/** All topic names for a prefix, by logical key. */
export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): Readonly<Record<TopicKey, string>> {
  const out = {} as Record<TopicKey, string>;
  for (const key of Object.keys(TOPIC_SPECS) as TopicKey[]) out[key] = topicName(prefix, key);
  return Object.freeze(out);
}
