/**
 * Which handler failures are worth retrying. The consumer host dead-letters a `permanent`
 * failure at once, retries a `transient` one for as long as it owns the partition (an outage
 * must never dead-letter everything), and gives an `unknown` one bounded retries.
 */

/**
 * `transient`: the store or the broker is unreachable, or a race: it passes by itself.
 * `permanent`: the message or the handler's code is at fault: retrying cannot fix it.
 * `unknown`: neither is certain.
 */
export type FailureKind = 'transient' | 'permanent' | 'unknown';

/** Node / undici socket and DNS failures. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** MongoDB driver (and mongoose) errors raised when the server cannot be reached or the pool was reset. */
const MONGO_TRANSIENT_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoPoolClearedError',
  'MongoPoolClosedError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
  'MongoWriteConcernError',
]);

const MONGO_TRANSIENT_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool', 'RetryableError', 'NetworkError'];

/** Server codes of a replica set changing primary, shutting down or timing out (see the server's error_codes.yml). */
const MONGO_TRANSIENT_CODES = new Set([6, 7, 64, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * Server codes that reject the data itself: BadValue 2 (FerretDB: "nested arrays are not
 * supported", "key must not start with '$'"), FailedToParse 9, TypeMismatch 14, Overflow 15,
 * InvalidLength 16, InvalidBSON 22, PathNotViable 28, ConflictingUpdateOperators 40,
 * DollarPrefixedFieldName 52, EmptyFieldName 56, DottedFieldName 57, ImmutableField 66,
 * BSONObjectTooLarge 10334, KeyTooLong 17280, document too large 17419 / 17420.
 */
const MONGO_DATA_CODES = new Set([2, 9, 14, 15, 16, 22, 28, 40, 52, 56, 57, 66, 10334, 17280, 17419, 17420]);

/**
 * FerretDB on PostgreSQL answers InternalError (1) with PostgreSQL's own error in the message.
 * SQLSTATE class 22 ("data exception": e.g. 22P05, a NUL character jsonb cannot hold) rejects
 * the data itself; other InternalErrors stay unknown.
 */
const FERRETDB_INTERNAL_ERROR = 1;
const POSTGRES_DATA_EXCEPTION = /\(SQLSTATE 22[0-9A-Z]{3}\)/;

/** kafkajs errors of a broker that cannot be reached (some are flagged non-retriable by kafkajs itself). */
const KAFKA_TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSGroupCoordinatorNotFound',
]);

/** Broker rejections of the record itself. */
const KAFKA_RECORD_REJECTIONS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

/** Thrown by the handler's own code: a bug or data it cannot handle. */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError']);

const MAX_CAUSE_DEPTH = 8;

type ErrorLike = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  original?: unknown;
  errors?: unknown;
  errorLabels?: unknown;
  errorLabelSet?: unknown;
  hasErrorLabel?: unknown;
};

/**
 * Classifies a handler failure, looking through `cause` chains (a wrapper such as kafkajs'
 * `KafkaJSNumberOfRetriesExceeded` or undici's `TypeError: fetch failed` takes the kind of what
 * it wraps). A handler can decide itself with `NonRetriableError` (permanent), `TransientError`
 * (transient) or a `retriable` boolean on the error.
 */
export function classifyFailure(err: unknown): FailureKind {
  return classify(err, 0);
}

function classify(err: unknown, depth: number): FailureKind {
  if (typeof err !== 'object' || err === null || depth > MAX_CAUSE_DEPTH) return 'unknown';
  const e = err as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : '';
  const own = explicitKind(e, name) ?? infrastructureKind(e, name);
  if (own) return own;
  for (const inner of innerErrors(e)) {
    const kind = classify(inner, depth + 1);
    if (kind !== 'unknown') return kind;
  }
  return PROGRAMMING_ERRORS.has(name) ? 'permanent' : 'unknown';
}

/** Markers the project (or a handler) sets on purpose. */
function explicitKind(e: ErrorLike, name: string): FailureKind | undefined {
  if (name === 'ContractViolationError' || name === 'NonRetriableError') return 'permanent';
  if (name === 'TransientError' || name === 'ProducerUnavailableError' || name === 'UnknownTopicError') return 'transient';
  // Kafka refused the caller's own records (too large, not a Buffer; never another caller's
  // record sharing its batch, send-queue.ts): sending them again gets the same answer.
  if (name === 'ProducerSendError') return 'permanent';
  if (name.startsWith('KafkaJS')) return undefined;
  if (e.retriable === false) return 'permanent';
  if (e.retriable === true) return 'transient';
  return undefined;
}

/**
 * kafkajs' plain Error from a broker connection whose ApiVersions request timed out (a broker too
 * loaded to answer): that client stays unusable, a new one connects (producer.ts replaces its own).
 */
const KAFKAJS_UNINITIALISED_BROKER = 'Broker not connected';

function infrastructureKind(e: ErrorLike, name: string): FailureKind | undefined {
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'transient';
  if (name === 'Error' && e.message === KAFKAJS_UNINITIALISED_BROKER) return 'transient';
  if (name.startsWith('Mongo')) return mongoKind(e, name);
  if (name.startsWith('KafkaJS')) return kafkaKind(e, name);
  return undefined;
}

function mongoKind(e: ErrorLike, name: string): FailureKind | undefined {
  if (MONGO_TRANSIENT_NAMES.has(name) || MONGO_TRANSIENT_LABELS.some((l) => hasLabel(e, l))) return 'transient';
  if (typeof e.code === 'number') {
    if (MONGO_TRANSIENT_CODES.has(e.code)) return 'transient';
    if (MONGO_DATA_CODES.has(e.code)) return 'permanent';
    if (e.code === FERRETDB_INTERNAL_ERROR && typeof e.message === 'string' && POSTGRES_DATA_EXCEPTION.test(e.message)) return 'permanent';
  }
  // Client-side validation of what the handler passed (bad arguments, unserialisable values).
  if (name === 'MongoInvalidArgumentError' || name === 'MongoParseError') return 'permanent';
  return undefined;
}

function kafkaKind(e: ErrorLike, name: string): FailureKind | undefined {
  if (KAFKA_TRANSIENT_NAMES.has(name)) return 'transient';
  if (typeof e.type === 'string' && KAFKA_RECORD_REJECTIONS.has(e.type)) return 'permanent';
  if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION' || e.type === 'LEADER_NOT_AVAILABLE' || e.type === 'NOT_LEADER_FOR_PARTITION') return 'transient';
  if (e.retriable === true) return 'transient';
  // A non-retriable wrapper (e.g. retries exhausted) is judged by what it wraps.
  return undefined;
}

function hasLabel(e: ErrorLike, label: string): boolean {
  if (typeof e.hasErrorLabel === 'function') {
    try {
      if ((e.hasErrorLabel as (l: string) => unknown).call(e, label) === true) return true;
    } catch {
      // not the driver's method
    }
  }
  if (Array.isArray(e.errorLabels) && e.errorLabels.includes(label)) return true;
  return e.errorLabelSet instanceof Set && e.errorLabelSet.has(label);
}

/** What an error wraps: `cause`, `HandlerError.original`, an AggregateError's errors. */
function innerErrors(e: ErrorLike): unknown[] {
  const out: unknown[] = [];
  if (e.cause !== undefined) out.push(e.cause);
  if (e.original !== undefined) out.push(e.original);
  if (Array.isArray(e.errors)) out.push(...e.errors);
  return out;
}
