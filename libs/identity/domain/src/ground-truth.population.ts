/**
 * A seeded synthetic population for the ground-truth test (not exported from the index).
 *
 * People × devices × logins, shared family laptops, email clicks, POS purchases by email,
 * CRM imports with external ids, a shared household landline, broken integrations that send
 * placeholder ids, and a few invalid phones. Every event carries the true person.
 *
 * What "truth" means where the system cannot know (documented in ground-truth.spec.ts):
 * - a personal device's anonymous events belong to its owner, who logs in (or signs up to
 *   the newsletter) on it at some point;
 * - on a shared family laptop, sessions are one person each. The first session may start
 *   anonymously: those events belong to the first person to log in. Every later session
 *   starts with its person logging in; events after that belong to that person, including
 *   anonymous ones after a logout without `analytics.reset()` (same cookie, same person,
 *   until someone else logs in). A session that starts anonymously after someone else's
 *   session would be unattributable (the cookie says "previous person"), so the generator
 *   does not produce one — the test says so and measures the out-of-order case separately.
 * - people who share a laptop are registered (they log in with a userId): two people who
 *   only ever give emails on one cookie are indistinguishable to deterministic rules.
 */
import type { IdentityEventInput } from './extract';

export interface PopulationOptions {
  seed: number;
  people: number;
  /** Fraction of people living in two-person households with a shared laptop. */
  householdShare: number;
  days: number;
}

export interface TruthEvent {
  event: IdentityEventInput & { timestamp: string };
  person: number;
  /** Anonymous event (no userId, email, phone, external id) on a shared laptop. */
  anonymousOnSharedDevice: boolean;
  /** Where it came from, for reports. */
  kind: string;
}

export interface Population {
  events: TruthEvent[];
  people: PersonSpec[];
  households: [number, number][];
}

export interface PersonSpec {
  index: number;
  registered: boolean;
  userId?: string;
  emails: string[];
  phone?: string;
  crmId?: string;
  posId?: string;
  devices: string[];
}

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2025, 2, 1);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export function generatePopulation(options: PopulationOptions): Population {
  const g = new PopulationBuilder(options);
  createPeople(g);
  for (const p of g.people) for (const device of p.devices) browsePersonalDevice(g, p, device);
  g.households.forEach(([a, b], h) => useSharedLaptop(g, a, b, h));
  for (const p of g.people) {
    emailClicks(g, p);
    posPurchases(g, p);
    crmImport(g, p);
  }
  g.events.sort((x, y) => x.event.timestamp.localeCompare(y.event.timestamp));
  return { events: g.events, people: g.people, households: g.households };
}

/**
 * The population being generated, with its one random sequence: every step draws from it in
 * turn, so a seed always gives the same population (steps must keep their order).
 */
class PopulationBuilder {
  readonly events: TruthEvent[] = [];
  readonly people: PersonSpec[] = [];
  readonly households: [number, number][] = [];
  readonly householdOf = new Map<number, number>();
  private readonly rnd: () => number;
  private readonly end: number;
  private messageSeq = 0;

  constructor(readonly options: PopulationOptions) {
    this.rnd = seededRandom(options.seed);
    this.end = T0 + options.days * DAY;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.rnd() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)] as T;
  }

  randomTime(): number {
    return T0 + Math.floor(this.rnd() * (this.end - T0 - DAY));
  }

  emit(person: number, kind: string, at: number, fields: Omit<IdentityEventInput, 'messageId'>, anonymousOnSharedDevice = false): void {
    this.messageSeq += 1;
    const timestamp = new Date(at).toISOString();
    this.events.push({
      event: { messageId: `gt-${this.options.seed}-${this.messageSeq}`, properties: {}, traits: {}, context: {}, ...fields, timestamp },
      person,
      anonymousOnSharedDevice,
      kind,
    });
  }

  /** The same address as people type it: case and stray spaces vary. */
  typed(email: string): string {
    return this.pick([email, email.toUpperCase(), ` ${email}`, email.replace(/^./, (c) => c.toUpperCase())]);
  }

  phoneFormats(e164: string): string {
    const digits = e164.slice(1);
    return this.pick([
      e164,
      `00${digits}`,
      `+${digits.slice(0, 2)} ${digits.slice(2, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`,
      `00${digits.slice(0, 2)}-(${digits.slice(2, 4)})-${digits.slice(4)}`,
    ]);
  }

  /** The traits a login sends. */
  loginTraits(p: PersonSpec): Record<string, unknown> {
    const traits: Record<string, unknown> = { email: this.typed(p.emails[0] as string), name: `Person ${p.index}` };
    const h = this.householdOf.get(p.index);
    if (h !== undefined && this.chance(0.5)) traits['phone'] = this.phoneFormats(landline(h));
    else if (p.phone) traits['phone'] = this.chance(0.1) ? `0${p.phone.slice(3)}` : this.phoneFormats(p.phone); // 10%: a national number (dropped)
    return traits;
  }

  browse(p: PersonSpec, at: number, ids: { anonymousId?: string; userId?: string }, n: number, shared: boolean): number {
    let t = at;
    for (let k = 0; k < n; k += 1) {
      t += this.int(1, 3) * MINUTE;
      const anonymousOnly = ids.userId === undefined;
      if (this.chance(0.7)) {
        this.emit(p.index, 'page', t, { type: 'page', ...ids, properties: { path: `/p/${this.int(1, 50)}` } }, shared && anonymousOnly);
      } else {
        this.emit(
          p.index,
          'track',
          t,
          {
            type: 'track',
            event: this.pick(['Product Viewed', 'Product Added', 'Video Playback Started']),
            ...ids,
            properties: { sku: `sku-${this.int(1, 200)}` },
          },
          shared && anonymousOnly,
        );
      }
    }
    return t;
  }
}

function landline(h: number): string {
  return `+4420794${String(60000 + h).padStart(5, '0')}`;
}

// ---- people and households -----------------------------------------------------------
function createPeople(g: PopulationBuilder): void {
  const { people, households } = g;
  const inHousehold = new Set<number>();
  for (let i = 0; i < g.options.people; i += 1) {
    people.push({ index: i, registered: true, emails: [], devices: [] });
  }
  const householdCount = Math.floor((g.options.people * g.options.householdShare) / 2);
  for (let h = 0; h < householdCount; h += 1) households.push([2 * h, 2 * h + 1]);
  for (const [a, b] of households) {
    inHousehold.add(a);
    inHousehold.add(b);
  }
  for (const person of people) {
    const i = person.index;
    // People who share a laptop log in; a fifth of the others never register (newsletter only).
    person.registered = inHousehold.has(i) || g.chance(0.8);
    if (person.registered) person.userId = `user-${i}`;
    person.emails.push(`person${i}@example.com`);
    if (person.registered && g.chance(0.3)) person.emails.push(`p${i}.work@corp.example`);
    if (g.chance(0.5)) person.phone = `+4915${String(100000000 + i * 7919).slice(0, 9)}`;
    if (person.registered && g.chance(0.5)) person.crmId = `crm-${i}`;
    if (g.chance(0.4)) person.posId = `pos-${i}`;
    const deviceCount = g.int(1, 3);
    for (let d = 0; d < deviceCount; d += 1) person.devices.push(`dev-${i}-${d}`);
  }
  households.forEach(([a, b], h) => {
    g.householdOf.set(a, h);
    g.householdOf.set(b, h);
  });
}

// ---- personal devices -------------------------------------------------------------------
function browsePersonalDevice(g: PopulationBuilder, p: PersonSpec, device: string): void {
  const sessions = g.int(1, 4);
  const loginAt = g.int(0, sessions - 1);
  const times = Array.from({ length: sessions }, () => g.randomTime()).sort((a, b) => a - b);
  const identified = p.registered ? { anonymousId: device, userId: p.userId } : { anonymousId: device };
  times.forEach((start, s) => {
    if (s < loginAt) {
      g.browse(p, start, { anonymousId: device }, g.int(1, 4), false);
      return;
    }
    if (s === loginAt) {
      let t = g.browse(p, start, { anonymousId: device }, g.int(0, 3), false);
      t += MINUTE;
      if (p.registered) {
        g.emit(p.index, 'login', t, { type: 'identify', anonymousId: device, userId: p.userId, traits: g.loginTraits(p) });
      } else {
        g.emit(p.index, 'newsletter signup', t, { type: 'identify', anonymousId: device, traits: { email: g.typed(p.emails[0] as string) } });
      }
      const after = g.browse(p, t, identified, g.int(1, 4), false);
      if (g.chance(0.3)) {
        g.emit(p.index, 'online order', after + MINUTE, {
          type: 'track',
          event: 'Order Completed',
          anonymousId: device,
          ...(p.registered ? { userId: p.userId } : {}),
          properties: { email: g.typed(p.emails[0] as string), total: g.int(10, 300) },
        });
      }
      return;
    }
    // Later sessions: the SDK remembers the user id of a registered person.
    g.browse(p, start, identified, g.int(1, 5), false);
  });
}

// ---- shared family laptops ----------------------------------------------------------------
function useSharedLaptop(g: PopulationBuilder, a: number, b: number, h: number): void {
  const laptop = `laptop-${h}`;
  const sessions = g.int(3, 8);
  // Both people log in at some point: the first two sessions are theirs, in random order.
  const order = g.chance(0.5) ? [a, b] : [b, a];
  for (let s = 2; s < sessions; s += 1) order.push(g.pick([a, b]));
  let t = g.randomTime() - 10 * DAY;
  if (t < T0) t = T0 + DAY;
  order.forEach((personIndex, s) => {
    t += g.int(2, 48) * 60 * MINUTE;
    const p = g.people[personIndex] as PersonSpec;
    if (s === 0 && g.chance(0.7)) t = g.browse(p, t, { anonymousId: laptop }, g.int(1, 4), true); // before the first login: the first person's
    t += MINUTE;
    g.emit(p.index, 'laptop login', t, { type: 'identify', anonymousId: laptop, userId: p.userId, traits: g.loginTraits(p) });
    t = g.browse(p, t, { anonymousId: laptop, userId: p.userId }, g.int(1, 4), false);
    // Logged out without analytics.reset(): same cookie, same person, until someone logs in.
    if (g.chance(0.5)) t = g.browse(p, t, { anonymousId: laptop }, g.int(1, 3), true);
  });
}

// ---- email clicks, POS purchases, CRM imports ------------------------------------------------
function emailClicks(g: PopulationBuilder, p: PersonSpec): void {
  const clicks = g.int(0, 3);
  for (let c = 0; c < clicks; c += 1) {
    g.emit(p.index, 'email click', g.randomTime(), {
      type: 'track',
      event: g.pick(['Email Link Clicked', 'Email Opened']),
      properties: { email: g.typed(g.pick(p.emails)), campaign: `c${g.int(1, 9)}` },
    });
  }
}

function posPurchases(g: PopulationBuilder, p: PersonSpec): void {
  if (!p.posId && p.emails.length <= 1) return;
  const purchases = g.int(1, 3);
  for (let c = 0; c < purchases; c += 1) {
    // POS tills send userId "guest" for walk-in customers: blocked by the default rules.
    g.emit(p.index, 'POS purchase', g.randomTime(), {
      type: 'track',
      event: 'Order Completed',
      ...(g.chance(0.3) ? { userId: 'guest' } : {}),
      properties: { email: g.typed(c === 0 ? (p.emails[p.emails.length - 1] as string) : g.pick(p.emails)), store: `s${g.int(1, 5)}` },
      context: p.posId ? { externalIds: [{ id: p.posId, type: 'pos_customer_id', collection: 'users', encoding: 'none' }] } : {},
    });
  }
}

function crmImport(g: PopulationBuilder, p: PersonSpec): void {
  if (!p.registered || !(p.crmId || p.emails.length > 1)) return;
  // A nightly CRM import (server side). A broken integration sends anonymousId "anonymous" or "0".
  const placeholder = g.pick([undefined, undefined, 'anonymous', '0', 'null']);
  g.emit(p.index, 'CRM import', g.randomTime(), {
    type: 'identify',
    userId: p.userId,
    ...(placeholder === undefined ? {} : { anonymousId: placeholder }),
    traits: { email: g.typed(p.emails[0] as string) },
    context: {
      ...(p.emails.length > 1 ? { traits: { email: p.emails[1] } } : {}),
      ...(p.crmId ? { externalIds: [{ id: p.crmId, type: 'CRM_ID', collection: 'users', encoding: 'none' }] } : {}),
    },
  });
}
