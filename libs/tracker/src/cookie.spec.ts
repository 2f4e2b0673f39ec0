import { DAY_MS, cookieExpiry, domainCandidates, domainMatches, normalizeDomain, readCookie, serializeCookie } from './cookie';

describe('serializeCookie', () => {
  it('sets a first-party cookie for the whole site with SameSite=Lax and a max age', () => {
    expect(serializeCookie('mosaic_aid', 'a b', { maxAge: 365 * 86400 })).toBe('mosaic_aid=a%20b; Path=/; Max-Age=31536000; SameSite=Lax');
  });

  it('adds Secure (https) and a parent Domain when asked', () => {
    expect(serializeCookie('mosaic_aid', 'x', { maxAge: 10, domain: 'example.com', secure: true })).toBe(
      'mosaic_aid=x; Path=/; Max-Age=10; SameSite=Lax; Domain=example.com; Secure',
    );
  });

  it('deletes with a zero max age and a past expiry', () => {
    expect(serializeCookie('mosaic_aid', '', { maxAge: 0 })).toBe('mosaic_aid=; Path=/; Max-Age=0; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(serializeCookie('mosaic_aid', '', { maxAge: -5 })).toContain('Max-Age=0');
  });
});

describe('readCookie', () => {
  it('finds the named cookie only', () => {
    const jar = 'xmosaic_aid=wrong; mosaic_aid=ab%3Dc; mosaic_aid_old=old; other=1';
    expect(readCookie(jar, 'mosaic_aid')).toBe('ab=c');
    expect(readCookie(jar, 'missing')).toBeUndefined();
    expect(readCookie('mosaic_aid=', 'mosaic_aid')).toBeUndefined();
    expect(readCookie('mosaic_aid=%E0%A4%A', 'mosaic_aid')).toBeUndefined();
    expect(readCookie('', 'mosaic_aid')).toBeUndefined();
  });
});

describe('rolling expiry', () => {
  it('is a full period from each visit, so every visit pushes it forward', () => {
    const first = Date.UTC(2026, 0, 1);
    expect(cookieExpiry(first, 365)).toBe(first + 365 * DAY_MS);
    const later = first + 200 * DAY_MS;
    expect(cookieExpiry(later, 365) - cookieExpiry(first, 365)).toBe(200 * DAY_MS);
  });
});

describe('cookie domains', () => {
  it('lists candidate parent domains widest first', () => {
    expect(domainCandidates('shop.example.co.uk')).toEqual(['co.uk', 'example.co.uk', 'shop.example.co.uk']);
    expect(domainCandidates('www.example.com.')).toEqual(['example.com', 'www.example.com']);
  });

  it('has none for hosts where only host-only cookies work', () => {
    expect(domainCandidates('localhost')).toEqual([]);
    expect(domainCandidates('127.0.0.1')).toEqual([]);
    expect(domainCandidates('[::1]')).toEqual([]);
    expect(domainCandidates('')).toEqual([]);
  });

  it('normalises configured domains and matches hosts to them', () => {
    expect(normalizeDomain('.Example.com ')).toBe('example.com');
    expect(normalizeDomain(undefined)).toBe('');
    expect(domainMatches('shop.example.com', 'example.com')).toBe(true);
    expect(domainMatches('example.com', 'example.com')).toBe(true);
    expect(domainMatches('badexample.com', 'example.com')).toBe(false);
  });
});
