/**
 * Likely machine activity on email opens and clicks: flagged in the event
 * (`properties.machine`, `properties.machine_reason`), never dropped, so that segments and
 * reports can choose (DESIGN: "flag likely machine opens rather than dropping them").
 *
 * Rules, first match wins (the reason codes are the values of `machine_reason`):
 * - `head_request`: a HEAD request (link checkers, Outlook's "existence discovery");
 * - `no_user_agent`: no User-Agent at all (scripts, some scanners);
 * - `apple_mail_privacy_protection` (opens): Apple Mail Privacy Protection pre-fetches every
 *   image through Apple's proxy when the message is *delivered*, whether or not it is read.
 *   Recognised by its bare `Mozilla/5.0` User-Agent or an address in 17.0.0.0/8 (Apple's);
 * - `scanner_user_agent`: a User-Agent of a security gateway or link scanner (Barracuda,
 *   Mimecast, Proofpoint, Microsoft Safe Links / Office existence discovery, Symantec /
 *   MessageLabs, Cisco IronPort, FireEye, Trend Micro, Sophos, Forcepoint), a link-preview
 *   bot (Slack, Teams/Skype, Facebook, LinkedIn, Twitter, WhatsApp, Telegram, Discord,
 *   BingPreview), a headless browser or an HTTP library (curl, python-requests, Go, Java);
 * - `too_soon_after_send`: within `minSecondsAfterIssue` of the token being issued (the
 *   email being rendered): gateways open and follow links at delivery, people rarely do;
 * - `too_soon_after_open` (clicks): within `minSecondsAfterOpen` of this recipient's open of
 *   the same email, as seen by this instance;
 * - `click_burst` (clicks): this recipient clicked `burstLinks` or more different links of
 *   the same email within `burstWindowSeconds`, as seen by this instance (scanners follow
 *   every link at once).
 *
 * DECISION — Gmail's image proxy (`GoogleImageProxy`) and Yahoo's (`YahooMailProxy`) are NOT
 * machine activity: they fetch the pixel when the recipient opens the message (then cache
 * it), so those are real opens with a hidden device and location. They are reported in
 * `properties.proxy` (`google_image_proxy`, `yahoo_mail_proxy`, and `apple_mail_privacy_protection`
 * for Apple's) so a report can still separate them. Marking them as machine opens would
 * erase the engagement of every Gmail reader.
 *
 * The per-recipient memory (`EmailActivityMemory`) is per instance and bounded; with several
 * collector instances the two memory-based rules are best effort.
 */
import type { EmailTokenKind } from './email-token';

export type MachineReason =
  'head_request' | 'no_user_agent' | 'apple_mail_privacy_protection' | 'scanner_user_agent' | 'too_soon_after_send' | 'too_soon_after_open' | 'click_burst';

export type MailProxy = 'apple_mail_privacy_protection' | 'google_image_proxy' | 'yahoo_mail_proxy';

export interface MachineVerdict {
  machine: boolean;
  reason: MachineReason | null;
  proxy: MailProxy | null;
}

export interface MachineRules {
  /** Opens and clicks within this many seconds of issue are flagged (default 5). */
  minSecondsAfterIssue: number;
  /** Clicks within this many seconds of the open are flagged (default 2). */
  minSecondsAfterOpen: number;
  /** This many distinct links... (default 3) */
  burstLinks: number;
  /** ...clicked within this many seconds are flagged (default 10). */
  burstWindowSeconds: number;
}

export const DEFAULT_MACHINE_RULES: Readonly<MachineRules> = Object.freeze({
  minSecondsAfterIssue: 5,
  minSecondsAfterOpen: 2,
  burstLinks: 3,
  burstWindowSeconds: 10,
});

export interface ActivityObservation {
  kind: EmailTokenKind;
  /** HTTP method (GET, HEAD). */
  method: string;
  userAgent?: string;
  ip?: string;
  /** When the token was issued, epoch ms. */
  issuedAtMs: number;
  /** When the request arrived, epoch ms. */
  nowMs: number;
  /** This recipient's first open of this email, epoch ms (from `EmailActivityMemory`). */
  openedAtMs?: number;
  /** Distinct links of this email this recipient clicked within the burst window, this one included. */
  recentDistinctLinks?: number;
}

const SCANNER_UA = new RegExp(
  [
    'barracuda',
    'mimecast',
    'proofpoint',
    'ppops',
    'urldefense',
    'safe ?links',
    'microsoft office existence discovery',
    'ms-office',
    'symantec',
    'messagelabs',
    'ironport',
    'cisco',
    'fireeye',
    'trend ?micro',
    'sophos',
    'forcepoint',
    'websense',
    'bingpreview',
    'slackbot',
    'slack-imgproxy',
    'skypeuripreview',
    'microsoftpreview',
    'teamsbot',
    'facebookexternalhit',
    'linkedinbot',
    'twitterbot',
    'whatsapp',
    'telegrambot',
    'discordbot',
    'headlesschrome',
    'phantomjs',
    'python-requests',
    'python-urllib',
    'aiohttp',
    'go-http-client',
    '^curl/',
    '^wget/',
    '^java/',
    'okhttp',
    'libwww-perl',
    '\\bbot\\b',
    'crawler',
    'spider',
  ].join('|'),
  'i',
);

/** Apple's 17.0.0.0/8, also as an IPv4-mapped IPv6 address. */
function isAppleAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Which mail proxy fetched the pixel, if any is recognisable. */
export function mailProxyOf(userAgent: string | undefined, ip: string | undefined): MailProxy | null {
  const ua = (userAgent ?? '').trim();
  if (ua === 'Mozilla/5.0' || isAppleAddress(ip)) return 'apple_mail_privacy_protection';
  if (/GoogleImageProxy/i.test(ua)) return 'google_image_proxy';
  if (/YahooMailProxy/i.test(ua)) return 'yahoo_mail_proxy';
  return null;
}

/** Classifies one open or click (see the file comment for the rules). Pure. */
export function classifyEmailActivity(o: ActivityObservation, rules: MachineRules = DEFAULT_MACHINE_RULES): MachineVerdict {
  const ua = (o.userAgent ?? '').trim();
  const proxy = o.kind === 'open' ? mailProxyOf(ua, o.ip) : null;
  const machine = (reason: MachineReason): MachineVerdict => ({ machine: true, reason, proxy });
  if (o.method.toUpperCase() === 'HEAD') return machine('head_request');
  if (ua === '') return machine('no_user_agent');
  if (proxy === 'apple_mail_privacy_protection') return machine('apple_mail_privacy_protection');
  if (SCANNER_UA.test(ua)) return machine('scanner_user_agent');
  if (o.nowMs - o.issuedAtMs < rules.minSecondsAfterIssue * 1000) return machine('too_soon_after_send');
  if (o.kind === 'click') {
    if (o.openedAtMs !== undefined && o.nowMs >= o.openedAtMs && o.nowMs - o.openedAtMs < rules.minSecondsAfterOpen * 1000) {
      return machine('too_soon_after_open');
    }
    if ((o.recentDistinctLinks ?? 0) >= rules.burstLinks) return machine('click_burst');
  }
  return { machine: false, reason: null, proxy };
}

interface Activity {
  openedAtMs?: number;
  clicks: { url: string; atMs: number }[];
  touchedMs: number;
}

export interface EmailActivityMemoryOptions {
  /** Most (email, recipient) pairs remembered; the least recently used go first. Default 100 000. */
  maxEntries?: number;
  /** Entries untouched for this long are forgotten. Default 1 hour. */
  ttlMs?: number;
  /** Epoch ms. */
  clock?: () => number;
}

/**
 * Per-instance memory of recent opens and clicks per (email send, recipient), bounded in
 * entries and age, for the "too soon after the open" and "click burst" rules.
 */
export class EmailActivityMemory {
  private readonly entries = new Map<string, Activity>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(opts: EmailActivityMemoryOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.ttlMs = opts.ttlMs ?? 3_600_000;
    this.clock = opts.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(key: string): Activity {
    const now = this.clock();
    let a = this.entries.get(key);
    if (a && now - a.touchedMs >= this.ttlMs) a = undefined;
    this.entries.delete(key);
    a ??= { clicks: [], touchedMs: now };
    a.touchedMs = now;
    this.entries.set(key, a);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return a;
  }

  /** Records an open; returns the first open time known for this key (epoch ms). */
  recordOpen(key: string, atMs: number = this.clock()): number {
    const a = this.touch(key);
    a.openedAtMs ??= atMs;
    return a.openedAtMs;
  }

  /**
   * Records a click on `url`; returns the first open time (if known) and how many distinct
   * links were clicked within `windowMs` before it (this one included).
   */
  recordClick(key: string, url: string, windowMs: number, atMs: number = this.clock()): { openedAtMs?: number; recentDistinctLinks: number } {
    const a = this.touch(key);
    a.clicks = a.clicks.filter((c) => atMs - c.atMs < windowMs);
    a.clicks.push({ url, atMs });
    if (a.clicks.length > 50) a.clicks.splice(0, a.clicks.length - 50);
    const recentDistinctLinks = new Set(a.clicks.map((c) => c.url)).size;
    return a.openedAtMs === undefined ? { recentDistinctLinks } : { openedAtMs: a.openedAtMs, recentDistinctLinks };
  }
}
