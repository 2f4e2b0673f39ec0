/**
 * Destinations — where triggered deliveries go — and the validation of their untrusted JSON
 * configuration (errors with JSON paths, defaults applied on success):
 *
 * - `webhook`: an HTTP(S) endpoint, signed with Standard Webhooks;
 * - `email`: SMTP with Liquid templates for subject, HTML body and recipient;
 * - `kafka`: a Kafka topic of the deployment's cluster.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { OutboundAllowList, outboundHostProblem } from './address-policy';
import { checkTemplate, MAX_TEMPLATE_BYTES } from './render';
import { Checker, isObj, join, type Obj, type ValidationResult } from '@mosaic/shared-validation';
import { isWebhookSecret, MAX_SECRET_BYTES, MIN_SECRET_BYTES, SECRET_PREFIX } from './webhooks';

/** The destination kinds. */
export const DESTINATION_KINDS = ['webhook', 'email', 'kafka'] as const;
/** A destination kind. */
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** What every destination has. */
export interface DestinationBase {
  id: string;
  name: string;
  /** A disabled destination receives nothing (default true). */
  enabled: boolean;
}

/** A signed webhook endpoint. */
export interface WebhookDestination extends DestinationBase {
  kind: 'webhook';
  /** http or https, no credentials. */
  url: string;
  /** `whsec_…`; absent: the caller generates one when it stores the destination. */
  secret?: string;
  /** Extra request headers (at most 20). */
  headers?: Record<string, string>;
  /** Requests per second at most (no limit when absent). */
  rateLimitPerSecond?: number;
  /** Requests in flight at most (1–32, default 4). */
  concurrency: number;
  /** Request timeout (default 10 000 ms). */
  timeoutMs: number;
}

/** The SMTP server of an email destination. */
export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the start (port 465); otherwise STARTTLS when offered. */
  secure?: boolean;
  user?: string;
  password?: string;
}

/** Triggered email over SMTP; `subject`, `html` and `to` are Liquid templates. */
export interface EmailDestination extends DestinationBase {
  kind: 'email';
  smtp: SmtpConfig;
  /** `addr@example.com` or `Name <addr@example.com>`. */
  from: string;
  subject: string;
  html: string;
  /** The recipient (default `{{ profile.traits.email }}`). */
  to: string;
}

/** Publishing to a Kafka topic. */
export interface KafkaDestination extends DestinationBase {
  kind: 'kafka';
  topic: string;
}

/** A validated destination. */
export type Destination = WebhookDestination | EmailDestination | KafkaDestination;

/** Defaults applied by `validateDestination`. */
export const DESTINATION_DEFAULTS = {
  enabled: true,
  concurrency: 4,
  timeoutMs: 10_000,
  emailTo: '{{ profile.traits.email }}',
} as const;

/** Bounds of destination fields. */
export const DESTINATION_LIMITS = {
  maxUrlLength: 2048,
  maxHeaders: 20,
  maxHeaderValueLength: 4096,
  maxRateLimitPerSecond: 10_000,
  minConcurrency: 1,
  maxConcurrency: 32,
  minTimeoutMs: 100,
  maxTimeoutMs: 120_000,
  maxSubjectLength: 1024,
  maxToLength: 1024,
  maxAddressLength: 320,
  maxTopicLength: 249,
} as const;

/** Request headers a destination may not set: hop-by-hop, computed by the client, or `webhook-*` (the signature's). */
export const FORBIDDEN_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
];

const BASE_FIELDS = ['id', 'kind', 'name', 'enabled'] as const;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_RE = /^[\t\x20-\x7e]*$/;
const HOST_RE = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;
const ADDRESS_RE = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/;
const TOPIC_RE = /^[A-Za-z0-9._-]+$/;
const LINE_BREAK_RE = /[\r\n]/;

/** Whether a request header name is one a destination may not set. */
export function isForbiddenHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return FORBIDDEN_HEADERS.includes(lower) || lower.startsWith('webhook-');
}

/** Options of `validateDestination`. */
export interface DestinationValidationOptions {
  /** The operator's exceptions to "public addresses only" (default: none). */
  outboundAllow?: OutboundAllowList;
}

/**
 * Why `url` cannot be a webhook URL, or undefined: absolute http(s), a host, no
 * `user:password@`, not a non-public IP address (in any spelling the URL parser accepts:
 * `0x7f.1`, `2130706433`) or a cloud metadata host name unless allow-listed.
 */
export function webhookUrlProblem(url: string, allow: OutboundAllowList = OutboundAllowList.NONE): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be an http or https URL, not ${parsed.protocol.replace(/:$/, '')}`;
  if (parsed.username !== '' || parsed.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(url.trim()))
    return 'must not contain credentials (user:password@); use headers instead';
  if (parsed.hostname === '') return 'must name a host';
  const host = outboundHostProblem(parsed.hostname, allow);
  return host === undefined ? undefined : `host ${host}`;
}

/** Whether `topic` is a legal Kafka topic name: 1–249 of letters, digits, `. _ -`, not `.` or `..`. */
export function isKafkaTopic(topic: string): boolean {
  return topic.length <= DESTINATION_LIMITS.maxTopicLength && TOPIC_RE.test(topic) && topic !== '.' && topic !== '..';
}

/**
 * Why a Kafka destination may not write to `topic`, or undefined: a Kafka-internal topic
 * (`__consumer_offsets`), or one of the deployment's own topics (`ownTopics`: the topics of
 * libs/contracts with the configured prefix). Records put there would be read as Mosaic's own:
 * a forged membership change, a source's keys. Kafka refuses a topic whose name differs from an
 * existing one only by `.` against `_` (they collide), so such a name is refused here too.
 */
export function reservedTopicProblem(topic: string, ownTopics: readonly string[]): string | undefined {
  if (topic.startsWith('__')) return `${topic} is one of Kafka's internal topics (names starting with "__")`;
  const folded = (name: string) => name.replace(/\./g, '_');
  const own = ownTopics.find((t) => folded(t) === folded(topic));
  if (own === undefined) return undefined;
  const which = own === topic ? own : `${own} (Kafka treats "." and "_" in topic names alike)`;
  return `${topic} is one of this deployment's own topics: ${which}; a destination cannot write to Mosaic's topics`;
}

/** One mailbox: a display name (empty when none) and an address. */
export interface Mailbox {
  name: string;
  address: string;
}

/**
 * The one mailbox `text` holds (`addr@domain`, `Name <addr@domain>`, `"Name" <addr@domain>`),
 * read by nodemailer's own address parser, so what is checked is what nodemailer would send
 * to; undefined when it holds anything else: no address, several (`x, a@b.c <d@e.f>` is two),
 * a group, a line break, or a name holding an address (`x <a@b.c> <d@e.f>` goes to a@b.c).
 */
export function parseMailbox(text: string): Mailbox | undefined {
  if (LINE_BREAK_RE.test(text)) return undefined;
  const parsed = addressparser(text);
  if (parsed.length !== 1) return undefined;
  const [entry] = parsed;
  if (entry?.address === undefined || !ADDRESS_RE.test(entry.address) || entry.name.includes('@')) return undefined;
  return { name: entry.name, address: entry.address };
}

/** Whether `text` is exactly one mailbox (see {@link parseMailbox}). */
export function isMailbox(text: string): boolean {
  return parseMailbox(text) !== undefined;
}

function template(v: Checker, value: unknown, path: string, maxLength: number, singleLine: boolean): void {
  if (!v.string(value, path, { max: maxLength })) return;
  if (singleLine && LINE_BREAK_RE.test(value)) return v.err(path, 'must be a single line');
  const problem = checkTemplate(value);
  if (problem !== undefined) v.err(path, `is not a valid Liquid template: ${problem}`);
}

function headers(v: Checker, value: unknown): void {
  if (!v.object(value, 'headers', '{ name: value }')) return;
  const names = Object.keys(value);
  if (names.length > DESTINATION_LIMITS.maxHeaders) v.err('headers', `must have at most ${DESTINATION_LIMITS.maxHeaders} headers`);
  const seen = new Set<string>();
  for (const name of names) {
    const path = join('headers', name);
    if (!TOKEN_RE.test(name) || name.length > 256) v.err(path, 'is not a valid header name');
    else if (isForbiddenHeader(name)) v.err(path, 'cannot be set (hop-by-hop, computed by the client, or a webhook-* signature header)');
    else if (seen.has(name.toLowerCase())) v.err(path, 'is a duplicate (header names are case-insensitive)');
    seen.add(name.toLowerCase());
    const h = value[name];
    if (typeof h !== 'string') v.err(path, 'must be a string');
    else if (h.length > DESTINATION_LIMITS.maxHeaderValueLength) v.err(path, `must be at most ${DESTINATION_LIMITS.maxHeaderValueLength} characters`);
    else if (!HEADER_VALUE_RE.test(h)) v.err(path, 'must be printable ASCII on one line');
  }
}

function webhook(v: Checker, o: Obj, allow: OutboundAllowList): void {
  v.fields(o, '', [...BASE_FIELDS, 'url', 'secret', 'headers', 'rateLimitPerSecond', 'concurrency', 'timeoutMs'], ['url']);
  if (o['url'] !== undefined && v.string(o['url'], 'url', { max: DESTINATION_LIMITS.maxUrlLength })) {
    const problem = webhookUrlProblem(o['url'], allow);
    if (problem !== undefined) v.err('url', problem);
  }
  if (o['secret'] !== undefined && !isWebhookSecret(o['secret']))
    v.err('secret', `must be ${SECRET_PREFIX} followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  if (o['headers'] !== undefined) headers(v, o['headers']);
  if (o['rateLimitPerSecond'] !== undefined)
    v.number(o['rateLimitPerSecond'], 'rateLimitPerSecond', { exclusiveMin: 0, max: DESTINATION_LIMITS.maxRateLimitPerSecond });
  if (o['concurrency'] !== undefined)
    v.number(o['concurrency'], 'concurrency', { integer: true, min: DESTINATION_LIMITS.minConcurrency, max: DESTINATION_LIMITS.maxConcurrency });
  if (o['timeoutMs'] !== undefined)
    v.number(o['timeoutMs'], 'timeoutMs', { integer: true, min: DESTINATION_LIMITS.minTimeoutMs, max: DESTINATION_LIMITS.maxTimeoutMs });
}

function smtp(v: Checker, value: unknown, allow: OutboundAllowList): void {
  if (!v.object(value, 'smtp', '{ host, port, secure?, user?, password? }')) return;
  v.fields(value, 'smtp', ['host', 'port', 'secure', 'user', 'password'], ['host', 'port']);
  if (value['host'] !== undefined && v.string(value['host'], 'smtp.host', { max: 253, pattern: HOST_RE, patternText: 'a host name or an IP address' })) {
    const problem = outboundHostProblem(value['host'], allow);
    if (problem !== undefined) v.err('smtp.host', problem);
  }
  if (value['port'] !== undefined) v.number(value['port'], 'smtp.port', { integer: true, min: 1, max: 65_535 });
  if (value['secure'] !== undefined) v.boolean(value['secure'], 'smtp.secure');
  if (value['user'] !== undefined) v.string(value['user'], 'smtp.user');
  if (value['password'] !== undefined) v.string(value['password'], 'smtp.password', { max: 1024 });
  if (value['password'] !== undefined && value['user'] === undefined) v.err('smtp.user', 'is required with a password');
}

function email(v: Checker, o: Obj, allow: OutboundAllowList): void {
  v.fields(o, '', [...BASE_FIELDS, 'smtp', 'from', 'subject', 'html', 'to'], ['smtp', 'from', 'subject', 'html']);
  if (o['smtp'] !== undefined) smtp(v, o['smtp'], allow);
  if (o['from'] !== undefined && v.string(o['from'], 'from', { max: DESTINATION_LIMITS.maxAddressLength }) && !isMailbox(o['from'])) {
    v.err('from', 'must be an email address or "Name <address>"');
  }
  if (o['subject'] !== undefined) template(v, o['subject'], 'subject', DESTINATION_LIMITS.maxSubjectLength, true);
  if (o['html'] !== undefined) template(v, o['html'], 'html', MAX_TEMPLATE_BYTES, false);
  if (o['to'] !== undefined) template(v, o['to'], 'to', DESTINATION_LIMITS.maxToLength, true);
}

function kafka(v: Checker, o: Obj): void {
  v.fields(o, '', [...BASE_FIELDS, 'topic'], ['topic']);
  if (o['topic'] !== undefined && v.string(o['topic'], 'topic', { max: DESTINATION_LIMITS.maxTopicLength }) && !isKafkaTopic(o['topic'])) {
    v.err('topic', 'must be a Kafka topic name: letters, digits, ". _ -", not "." or ".."');
  }
}

const BY_KIND: Record<DestinationKind, (v: Checker, o: Obj, allow: OutboundAllowList) => void> = { webhook, email, kafka };

function withDefaults(o: Obj): Destination {
  const copy = structuredClone(o) as Obj;
  copy['enabled'] ??= DESTINATION_DEFAULTS.enabled;
  if (copy['kind'] === 'webhook') {
    copy['concurrency'] ??= DESTINATION_DEFAULTS.concurrency;
    copy['timeoutMs'] ??= DESTINATION_DEFAULTS.timeoutMs;
  }
  if (copy['kind'] === 'email') copy['to'] ??= DESTINATION_DEFAULTS.emailTo;
  return copy as unknown as Destination;
}

/**
 * Validates an untrusted destination: `kind` (webhook, email, kafka), `id` (an identifier),
 * `name`, `enabled?` and the kind's own fields; unknown fields are errors. On success the value
 * is a fresh copy with the defaults applied (enabled, webhook concurrency and timeout, email `to`).
 * A webhook URL or SMTP host that is a non-public IP address or a cloud metadata host name is
 * an error unless `options.outboundAllow` lists it; other host names are checked when resolved,
 * at send time (what they resolve to can change).
 */
export function validateDestination(input: unknown, options: DestinationValidationOptions = {}): ValidationResult<Destination> {
  const v = new Checker();
  if (!isObj(input)) return { ok: false, errors: [{ path: '$', message: 'a destination must be an object' }] };
  const kind = input['kind'];
  if (kind === undefined) return { ok: false, errors: [{ path: 'kind', message: `is required (one of ${DESTINATION_KINDS.join(', ')})` }] };
  if (!v.oneOf(kind, 'kind', DESTINATION_KINDS)) return { ok: false, errors: v.errors };
  BY_KIND[kind](v, input, options.outboundAllow ?? OutboundAllowList.NONE);
  if (input['id'] !== undefined) v.key(input['id'], 'id');
  else v.err('id', 'is required');
  if (input['name'] !== undefined) v.string(input['name'], 'name');
  else v.err('name', 'is required');
  if (input['enabled'] !== undefined) v.boolean(input['enabled'], 'enabled');
  return v.result(() => withDefaults(input));
}
