import { DEFAULT_MACHINE_RULES, EmailActivityMemory, classifyEmailActivity, mailProxyOf, type ActivityObservation } from './machine-activity';

const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const ISSUED = 1_000_000_000;
const human = (over: Partial<ActivityObservation> = {}): ActivityObservation => ({
  kind: 'open',
  method: 'GET',
  userAgent: CHROME,
  ip: '203.0.113.9',
  issuedAtMs: ISSUED,
  nowMs: ISSUED + 3_600_000,
  ...over,
});

describe('classifyEmailActivity', () => {
  it('a person opening and clicking later is not machine activity', () => {
    expect(classifyEmailActivity(human())).toEqual({ machine: false, reason: null, proxy: null });
    expect(classifyEmailActivity(human({ kind: 'click', openedAtMs: ISSUED + 3_590_000, recentDistinctLinks: 1 }))).toEqual({
      machine: false,
      reason: null,
      proxy: null,
    });
  });

  it.each([
    ['HEAD request', { method: 'HEAD' }, 'head_request'],
    ['no user agent', { userAgent: undefined }, 'no_user_agent'],
    ['blank user agent', { userAgent: '  ' }, 'no_user_agent'],
    ['Apple MPP user agent', { userAgent: 'Mozilla/5.0' }, 'apple_mail_privacy_protection'],
    ['Apple address', { ip: '17.58.1.2' }, 'apple_mail_privacy_protection'],
    ['Apple address, IPv4-mapped', { ip: '::ffff:17.1.2.3' }, 'apple_mail_privacy_protection'],
    ['Barracuda', { userAgent: 'Barracuda Sentinel (EE)' }, 'scanner_user_agent'],
    ['Mimecast', { userAgent: 'Mozilla/5.0 Mimecast URL Protect' }, 'scanner_user_agent'],
    ['Proofpoint', { userAgent: 'ppops-proofpoint-url-defense/1.0' }, 'scanner_user_agent'],
    ['Office existence discovery', { userAgent: 'Microsoft Office Existence Discovery' }, 'scanner_user_agent'],
    ['Safe Links', { userAgent: 'Mozilla/5.0 (compatible; SafeLinks)' }, 'scanner_user_agent'],
    ['curl', { userAgent: 'curl/8.5.0' }, 'scanner_user_agent'],
    ['Slack preview', { userAgent: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' }, 'scanner_user_agent'],
    ['open 2 s after send', { nowMs: ISSUED + 2_000 }, 'too_soon_after_send'],
  ])('flags %s', (_name, over, reason) => {
    const v = classifyEmailActivity(human(over as Partial<ActivityObservation>));
    expect(v.machine).toBe(true);
    expect(v.reason).toBe(reason);
  });

  it('flags clicks right after send, right after the open, and bursts over many links', () => {
    expect(classifyEmailActivity(human({ kind: 'click', nowMs: ISSUED + 1_000 })).reason).toBe('too_soon_after_send');
    const now = ISSUED + 600_000;
    expect(classifyEmailActivity(human({ kind: 'click', nowMs: now, openedAtMs: now - 1_000 })).reason).toBe('too_soon_after_open');
    expect(classifyEmailActivity(human({ kind: 'click', nowMs: now, openedAtMs: now - 3_000 })).machine).toBe(false);
    expect(classifyEmailActivity(human({ kind: 'click', nowMs: now, recentDistinctLinks: 3 })).reason).toBe('click_burst');
    expect(classifyEmailActivity(human({ kind: 'click', nowMs: now, recentDistinctLinks: 2 })).machine).toBe(false);
    // opens do not use the click-only rules
    expect(classifyEmailActivity(human({ nowMs: now, openedAtMs: now - 100, recentDistinctLinks: 9 })).machine).toBe(false);
  });

  it('Gmail and Yahoo proxies are real opens, named in proxy', () => {
    const gmail = classifyEmailActivity(human({ userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' }));
    expect(gmail).toEqual({ machine: false, reason: null, proxy: 'google_image_proxy' });
    expect(classifyEmailActivity(human({ userAgent: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html' })).proxy).toBe(
      'yahoo_mail_proxy',
    );
    expect(mailProxyOf('Mozilla/5.0', undefined)).toBe('apple_mail_privacy_protection');
    expect(mailProxyOf(CHROME, '18.0.0.1')).toBeNull();
  });

  it('the send window is configurable (0 disables it)', () => {
    expect(classifyEmailActivity(human({ nowMs: ISSUED + 1_000 }), { ...DEFAULT_MACHINE_RULES, minSecondsAfterIssue: 0 }).machine).toBe(false);
  });
});

describe('EmailActivityMemory', () => {
  it('remembers the first open and counts distinct recent links', () => {
    let now = 0;
    const m = new EmailActivityMemory({ clock: () => now });
    expect(m.recordOpen('k', 100)).toBe(100);
    expect(m.recordOpen('k', 500)).toBe(100);
    expect(m.recordClick('k', 'https://a/', 10_000, 1_000)).toEqual({ openedAtMs: 100, recentDistinctLinks: 1 });
    expect(m.recordClick('k', 'https://a/', 10_000, 2_000).recentDistinctLinks).toBe(1);
    expect(m.recordClick('k', 'https://b/', 10_000, 3_000).recentDistinctLinks).toBe(2);
    expect(m.recordClick('k', 'https://c/', 10_000, 20_000).recentDistinctLinks).toBe(1);
    expect(m.recordClick('other', 'https://a/', 10_000, 20_000)).toEqual({ recentDistinctLinks: 1 });
    now = 10_000_000; // past the 1 h TTL: forgotten
    expect(m.recordOpen('k', now)).toBe(now);
  });

  it('is bounded', () => {
    const m = new EmailActivityMemory({ maxEntries: 3, clock: () => 0 });
    for (let i = 0; i < 10; i++) m.recordOpen(`k${i}`, i);
    expect(m.size).toBe(3);
    expect(m.recordOpen('k0', 99)).toBe(99); // evicted, so a fresh entry
  });
});
