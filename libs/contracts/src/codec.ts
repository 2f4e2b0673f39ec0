/**
 * The one serializer/validator of Kafka messages, used by every producer and consumer.
 *
 * Wire format: the record value is UTF-8 JSON of an {@link Envelope}; the record headers
 * repeat `messageId`, `correlationId` and `schema` (`<name>@<version>`) so that tools and
 * logs can read them without parsing the value.
 */
import { randomUUID } from 'node:crypto';
import type { ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import {
  BadEvent,
  DeadLetter,
  MergeNotice,
  ProfileChange,
  RawEvent,
  ResolvedEvent,
  SegmentMembershipChange,
  SourceState,
  ProfileWrites,
  SplitNotice,
  type ResolvedMessage,
} from './messages';
import type { TopicKey } from './topics';

export const HEADER_MESSAGE_ID = 'messageId';
export const HEADER_CORRELATION_ID = 'correlationId';
export const HEADER_SCHEMA = 'schema';
/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) of the span that produced the
 * message, so one trace follows an event across every topic. Optional: present only when the
 * producing service traces (OTEL_EXPORTER_OTLP_ENDPOINT set); consumers must not require them.
 */
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

/** The versioned envelope around every message on every topic. */
export interface Envelope<T> {
  /** Schema name, e.g. `events.raw` (independent of the topic prefix). */
  schema: string;
  /** Schema version; consumers accept versions up to the one they know. */
  schemaVersion: number;
  messageId: string;
  /** Follows an event through every stage, into logs and traces. */
  correlationId: string;
  producedAt: string;
  /** The service that produced the message. */
  producer: string;
  payload: T;
}

export interface MessageSchema<T> {
  name: string;
  version: number;
  /** Topics this schema is carried on (DLQ schemas apply to every dead-letter topic). */
  topics: readonly TopicKey[];
  classOf(payload: Record<string, unknown>): ClassConstructor<T> | undefined;
}

function schema<T>(name: string, version: number, topics: readonly TopicKey[], classOf: MessageSchema<T>['classOf']): MessageSchema<T> {
  return Object.freeze({ name, version, topics, classOf });
}

export const Schemas = Object.freeze({
  rawEvent: schema<RawEvent>('events.raw', 1, ['eventsRaw'], () => RawEvent),
  resolved: schema<ResolvedMessage>('events.resolved', 1, ['eventsResolved'], (p) => {
    switch (p['kind']) {
      case 'event':
        return ResolvedEvent;
      case 'merge':
        return MergeNotice;
      case 'split':
        return SplitNotice;
      default:
        return undefined;
    }
  }),
  profileChange: schema<ProfileChange>('profiles.changes', 1, ['profilesChanges'], () => ProfileChange),
  segmentMembership: schema<SegmentMembershipChange>('segments.membership', 1, ['segmentsMembership'], () => SegmentMembershipChange),
  badEvent: schema<BadEvent>('events.bad', 1, ['eventsBad'], () => BadEvent),
  sourceState: schema<SourceState>('sources', 1, ['sources'], () => SourceState),
  profileWrites: schema<ProfileWrites>('identity.profile-writes', 1, ['identityProfileWrites'], () => ProfileWrites),
  deadLetter: schema<DeadLetter>('dead-letter', 1, ['dlqCollector', 'dlqIdentity', 'dlqEnrichment', 'dlqSegmentation', 'dlqActivation'], () => DeadLetter),
});

export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(details.length ? `${message}: ${details.join('; ')}` : message);
  }
}

export interface EncodeMeta {
  producer: string;
  correlationId?: string;
  messageId?: string;
  producedAt?: Date;
  /**
   * Validate the payload before producing (default true). A producer may pass false only
   * where its payload comes out of a validator that is tested to produce contract-valid
   * payloads (the collector's domain); consumers always validate on decode.
   */
  validate?: boolean;
}

export interface EncodedMessage {
  value: Buffer;
  headers: Record<string, string>;
  envelope: Envelope<unknown>;
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) for (const msg of Object.values(e.constraints)) out.push(`${path}: ${msg}`);
    if (e.children?.length) out.push(...flatten(e.children, path));
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The class instances class-validator needs to validate a parsed payload, built only along the
 * properties that declare a nested contract class (`@Type(() => X)`); every other value is the
 * payload's own, by reference. `plainToInstance` deep-copies whole JSON subtrees (traits,
 * computed, properties) that only get an `@IsObject()` check: most of a consumer's decoding time
 * for profile-sized messages. The type metadata is read from class-transformer's own storage, so
 * `@Type` stays the one declaration of nesting (the version is pinned in package.json).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- class-transformer publishes no typings for its metadata storage
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TypeMetadataStorage };

interface TypeMetadataStorage {
  findTypeMetadata(target: ClassConstructor<unknown>, propertyName: string): { typeFunction: (options?: unknown) => ClassConstructor<unknown> } | undefined;
}

/** `payload` as an instance of `cls`, nested contract classes instantiated where declared. */
function validationInstance<T>(cls: ClassConstructor<T>, payload: Record<string, unknown>): T {
  const instance = new cls() as Record<string, unknown>;
  for (const key of Object.keys(payload)) {
    const value = payload[key];
    const nested = defaultMetadataStorage.findTypeMetadata(cls as ClassConstructor<unknown>, key);
    instance[key] = nested ? nestedInstance(nested.typeFunction(), value) : value;
  }
  return instance as T;
}

function nestedInstance(cls: ClassConstructor<unknown>, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (isPlainObject(item) ? validationInstance(cls, item) : item));
  return isPlainObject(value) ? validationInstance(cls, value) : value;
}

/**
 * Validates a payload against its schema and returns the payload itself, not the class
 * instance the validation ran on: class-transformer leaves out keys that name a member of the
 * instance (`toString`, `valueOf`, `hasOwnProperty` …) at any depth, and traits, properties and
 * event counts keyed by such names are ordinary data.
 */
export function validatePayload<T>(s: MessageSchema<T>, payload: unknown): T {
  if (!isPlainObject(payload)) throw new ContractViolationError(`${s.name}: payload must be an object`);
  const cls = s.classOf(payload);
  if (!cls) throw new ContractViolationError(`${s.name}: unknown payload kind ${JSON.stringify(payload['kind'])}`);
  const instance = validationInstance(cls, payload);
  const errors = validateSync(instance as object, { forbidUnknownValues: true });
  if (errors.length) throw new ContractViolationError(`${s.name}@${s.version} payload invalid`, flatten(errors));
  return payload as T;
}

/** Builds, validates and serialises an envelope. */
export function encodeMessage<T>(s: MessageSchema<T>, payload: T, meta: EncodeMeta): EncodedMessage {
  if (meta.validate !== false) validatePayload(s, payload);
  const messageId = meta.messageId ?? randomUUID();
  const envelope: Envelope<T> = {
    schema: s.name,
    schemaVersion: s.version,
    messageId,
    correlationId: meta.correlationId ?? messageId,
    producedAt: (meta.producedAt ?? new Date()).toISOString(),
    producer: meta.producer,
    payload,
  };
  return {
    value: Buffer.from(JSON.stringify(envelope), 'utf8'),
    headers: {
      [HEADER_MESSAGE_ID]: envelope.messageId,
      [HEADER_CORRELATION_ID]: envelope.correlationId,
      [HEADER_SCHEMA]: `${s.name}@${s.version}`,
    },
    envelope,
  };
}

const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** A cheap pre-check on the text; only when it matches is the parsed value walked. */
const MAY_HAVE_RESERVED_KEY = /"(__proto__|constructor|prototype)"\s*:/;

/** The path of the first key named `__proto__`, `constructor` or `prototype`, if any (such keys can reach a prototype when copied). */
function reservedKeyPath(value: unknown, path = ''): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = reservedKeyPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  for (const key of Object.keys(value)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (RESERVED_KEYS.has(key)) return keyPath;
    const found = reservedKeyPath(value[key], keyPath);
    if (found) return found;
  }
  return undefined;
}

/** Parses and validates a record value. Throws {@link ContractViolationError} on anything off-contract. */
export function decodeMessage<T>(s: MessageSchema<T>, value: Buffer | string | null | undefined): Envelope<T> {
  if (value === null || value === undefined || value.length === 0) throw new ContractViolationError(`${s.name}: empty record value`);
  const text = typeof value === 'string' ? value : value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ContractViolationError(`${s.name}: value is not JSON (${(err as Error).message})`);
  }
  const reserved = MAY_HAVE_RESERVED_KEY.test(text) ? reservedKeyPath(parsed) : undefined;
  if (reserved) throw new ContractViolationError(`${s.name}: value carries a prototype-polluting key at ${reserved}`);
  if (!isPlainObject(parsed)) throw new ContractViolationError(`${s.name}: envelope must be an object`);
  const problems: string[] = [];
  if (parsed['schema'] !== s.name) problems.push(`schema: expected ${s.name}, got ${JSON.stringify(parsed['schema'])}`);
  const v = parsed['schemaVersion'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push('schemaVersion: must be a positive integer');
  else if (v > s.version) problems.push(`schemaVersion: ${v} is newer than the supported ${s.version}`);
  for (const f of ['messageId', 'correlationId', 'producer'] as const) {
    if (typeof parsed[f] !== 'string' || (parsed[f] as string).length === 0) problems.push(`${f}: must be a non-empty string`);
  }
  if (typeof parsed['producedAt'] !== 'string' || Number.isNaN(Date.parse(parsed['producedAt'] as string))) {
    problems.push('producedAt: must be an ISO-8601 date');
  }
  if (problems.length) throw new ContractViolationError(`${s.name}: envelope invalid`, problems);
  const payload = validatePayload(s, parsed['payload']);
  return { ...(parsed as unknown as Envelope<unknown>), payload } as Envelope<T>;
}
