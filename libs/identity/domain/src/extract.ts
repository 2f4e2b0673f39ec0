/**
 * Which identifiers an event carries (DESIGN §4, issue 4 §1).
 *
 * Sources, by event type:
 * | source | types | identifier |
 * |---|---|---|
 * | `anonymousId` | all | `anonymousId` (trimmed; case kept) |
 * | `userId` | all | `userId` (trimmed; case kept) |
 * | `previousId` | alias | looked up as `userId`, then as `anonymousId` (see below) |
 * | `traits.email`, `traits.phone` | identify only (a group's traits describe the group) | `email`, `phone` |
 * | `context.traits.email`, `context.traits.phone` | all (the SDK's statement of the user's traits) | `email`, `phone` |
 * | `properties.email` | track, for the events in `rules.emailEvents` (default `Email Opened`, `Email Link Clicked`, `Order Completed`) | `email` |
 * | `context.externalIds[]` | all, `collection` absent or `users` | `external:<type lower-cased>` = `id` as a string |
 *
 * Ids may be strings or finite numbers (converted as Segment does). Emails and phones are
 * normalised (identifier.ts). External ids of another collection (`accounts`, …) describe a
 * group, not a person, and are ignored. Nothing is dropped silently: every value that is not
 * used is reported in `dropped` with its source path and the reason (invalid, blocked,
 * ignored), so the service can log or count it.
 *
 * Alias: Segment's `alias` says "`previousId` is the same person as `userId`"; the previous
 * id is usually the anonymous id the visitor had before signing up, sometimes an old user
 * id. It is therefore reported as `aliases[]` with two candidates, `userId:<p>` and
 * `anonymousId:<p>`: the planner uses the first one the graph knows, and records the
 * previous id as an `anonymousId` when neither is known (it is a pre-signup id, the common
 * case). Alias events otherwise follow the same rules (limits, priorities, protection).
 */
import { externalType, identifierKey, type Identifier, MAX_IDENTIFIER_VALUE_LENGTH, normalizeEmail, normalizePhone } from './identifier';
import { compileRules, type CompiledRules, type IdentityRules } from './rules';

/** The fields of an event identity needs; `RawEvent` (contracts) is assignable to it. */
export interface IdentityEventInput {
  type: string;
  messageId: string;
  anonymousId?: unknown;
  userId?: unknown;
  previousId?: unknown;
  event?: unknown;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
  context?: Record<string, unknown> | null;
}

export type DropReason = 'invalid' | 'blocked' | 'ignored';

export interface DroppedIdentifier {
  /** Where the value was: `userId`, `traits.email`, `context.externalIds[2].id`, … */
  source: string;
  /** The identifier type it would have had (`external:?` when the type itself is unusable). */
  type: string;
  /** The value as found (stringified, at most 100 characters). */
  value: string;
  reason: DropReason;
  detail: string;
}

export interface AliasCandidates {
  source: 'previousId';
  value: string;
  /** In lookup order: `userId:<p>`, `anonymousId:<p>` (blocked candidates removed). */
  candidates: Identifier[];
}

export interface ExtractedIdentifiers {
  /** Valid, normalised, not blocked, de-duplicated; sorted by priority, then type and value. */
  identifiers: Identifier[];
  /** Alias `previousId`, resolved by the planner against the graph. */
  aliases: AliasCandidates[];
  dropped: DroppedIdentifier[];
}

/** Extracts the identifiers of `event` under `rules`. Pure; see the file comment. */
export function extractIdentifiers(event: IdentityEventInput, rules: IdentityRules): ExtractedIdentifiers {
  const compiled = compileRules(rules);
  const x = new Extraction(compiled);
  for (const field of ['anonymousId', 'userId'] as const) {
    const raw = event[field];
    if (raw === undefined || raw === null) continue;
    const value = readId(raw, field, field, x.dropped);
    if (value !== undefined) x.accept(field, { type: field, value });
  }
  if (event.type === 'alias' && event.previousId !== undefined && event.previousId !== null) readAlias(x, event.previousId);
  const { emailSources, phoneSources } = contactSources(event, compiled);
  for (const [source, raw] of emailSources) readEmail(x, source, raw);
  for (const [source, raw] of phoneSources) readPhone(x, source, raw);
  readExternalIds(x, asRecord(event.context)?.['externalIds']);
  return { identifiers: sortByPriority([...x.found.values()], compiled), aliases: x.aliases, dropped: x.dropped };
}

/** What one extraction has found and dropped so far. */
class Extraction {
  readonly found = new Map<string, Identifier>();
  readonly dropped: DroppedIdentifier[] = [];
  readonly aliases: AliasCandidates[] = [];

  constructor(readonly compiled: CompiledRules) {}

  accept(source: string, id: Identifier): void {
    const blocked = this.compiled.blockedReason(id.type, id.value);
    if (blocked !== undefined) {
      this.dropped.push({ source, type: id.type, value: preview(id.value), reason: 'blocked', detail: blocked });
      return;
    }
    this.found.set(identifierKey(id), id);
  }
}

function readAlias(x: Extraction, previousId: unknown): void {
  const value = readId(previousId, 'previousId', 'previousId', x.dropped);
  if (value === undefined) return;
  const candidates: Identifier[] = [];
  const reasons: string[] = [];
  for (const type of ['userId', 'anonymousId']) {
    const blocked = x.compiled.blockedReason(type, value);
    if (blocked === undefined) candidates.push({ type, value });
    else reasons.push(blocked);
  }
  if (candidates.length > 0) x.aliases.push({ source: 'previousId', value, candidates });
  else x.dropped.push({ source: 'previousId', type: 'previousId', value: preview(value), reason: 'blocked', detail: reasons.join('; ') });
}

/** Where emails and phones are read from for this event (see the table in the file comment). */
function contactSources(event: IdentityEventInput, compiled: CompiledRules): { emailSources: [string, unknown][]; phoneSources: [string, unknown][] } {
  const traits = asRecord(event.traits);
  const contextTraits = asRecord(asRecord(event.context)?.['traits']);
  const properties = asRecord(event.properties);
  const emailSources: [string, unknown][] = [];
  const phoneSources: [string, unknown][] = [];
  if (event.type === 'identify' && traits) {
    emailSources.push(['traits.email', traits['email']]);
    phoneSources.push(['traits.phone', traits['phone']]);
  }
  if (contextTraits) {
    emailSources.push(['context.traits.email', contextTraits['email']]);
    phoneSources.push(['context.traits.phone', contextTraits['phone']]);
  }
  if (event.type === 'track' && properties && typeof event.event === 'string' && compiled.isEmailEvent(event.event)) {
    emailSources.push(['properties.email', properties['email']]);
  }
  return { emailSources, phoneSources };
}

function readEmail(x: Extraction, source: string, raw: unknown): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'string') {
    x.dropped.push({ source, type: 'email', value: preview(raw), reason: 'invalid', detail: 'email must be a string' });
    return;
  }
  const email = normalizeEmail(raw);
  if (email.ok) x.accept(source, { type: 'email', value: email.value });
  else x.dropped.push({ source, type: 'email', value: preview(raw), reason: 'invalid', detail: email.reason });
}

function readPhone(x: Extraction, source: string, raw: unknown): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) {
    x.dropped.push({ source, type: 'phone', value: preview(raw), reason: 'invalid', detail: 'phone must be a string' });
    return;
  }
  const phone = normalizePhone(String(raw));
  if (phone.ok) x.accept(source, { type: 'phone', value: phone.value });
  else x.dropped.push({ source, type: 'phone', value: preview(raw), reason: 'invalid', detail: phone.reason });
}

function readExternalIds(x: Extraction, externalIds: unknown): void {
  if (Array.isArray(externalIds)) {
    externalIds.forEach((entry, i) => readExternalId(x, entry, `context.externalIds[${i}]`));
  } else if (externalIds !== undefined && externalIds !== null) {
    x.dropped.push({
      source: 'context.externalIds',
      type: 'external:?',
      value: preview(externalIds),
      reason: 'invalid',
      detail: 'externalIds must be an array',
    });
  }
}

function readExternalId(x: Extraction, entry: unknown, path: string): void {
  const record = asRecord(entry);
  if (!record) {
    x.dropped.push({ source: path, type: 'external:?', value: preview(entry), reason: 'invalid', detail: 'external id must be an object' });
    return;
  }
  const rawType = record['type'];
  const type = typeof rawType === 'string' ? externalType(rawType) : undefined;
  if (type === undefined) {
    x.dropped.push({
      source: `${path}.type`,
      type: 'external:?',
      value: preview(rawType),
      reason: 'invalid',
      detail: 'external id type must be a name of letters, digits, _, - or . (at most 55 characters)',
    });
    return;
  }
  const collection = record['collection'];
  if (collection !== undefined && collection !== null && collection !== 'users') {
    x.dropped.push({
      source: `${path}.collection`,
      type,
      value: preview(record['id']),
      reason: 'ignored',
      detail: `collection ${JSON.stringify(collection)} does not identify a person (only "users" does)`,
    });
    return;
  }
  const value = readId(record['id'], `${path}.id`, type, x.dropped);
  if (value !== undefined) x.accept(`${path}.id`, { type, value });
}

/** Every graph key the planner needs looked up for this extraction (identifiers and alias candidates). */
export function extractionKeys(extraction: ExtractedIdentifiers): string[] {
  const keys = new Set<string>(extraction.identifiers.map(identifierKey));
  for (const alias of extraction.aliases) for (const candidate of alias.candidates) keys.add(identifierKey(candidate));
  return [...keys];
}

/** Sorts by rule priority (strongest first), then type, then value. */
export function sortByPriority<T extends Identifier>(ids: T[], compiled: CompiledRules): T[] {
  return ids.slice().sort((a, b) => {
    const pa = compiled.ruleFor(a.type).priority;
    const pb = compiled.ruleFor(b.type).priority;
    if (pa !== pb) return pa - pb;
    if (a.type !== b.type) return a.type < b.type ? -1 : 1;
    return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  });
}

function readId(raw: unknown, source: string, type: string, dropped: DroppedIdentifier[]): string | undefined {
  let value: string;
  if (typeof raw === 'string') value = raw.trim();
  else if (typeof raw === 'number' && Number.isFinite(raw)) value = String(raw);
  else {
    dropped.push({ source, type, value: preview(raw), reason: 'invalid', detail: 'must be a string or a number' });
    return undefined;
  }
  if (value === '') {
    // Never an identifier, whatever the blocked values say (the default list has '' too).
    dropped.push({ source, type, value: '', reason: 'invalid', detail: 'empty or whitespace-only value' });
    return undefined;
  }
  if (value.length > MAX_IDENTIFIER_VALUE_LENGTH) {
    dropped.push({ source, type, value: preview(value), reason: 'invalid', detail: `longer than ${MAX_IDENTIFIER_VALUE_LENGTH} characters` });
    return undefined;
  }
  return value;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
