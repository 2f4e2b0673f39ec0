import { campaignFromQuery, landingCampaign, parseQuery, searchReferral, splitUrl } from './campaign';

describe('parseQuery', () => {
  it('decodes names and values, first value wins, + is a space', () => {
    expect(parseQuery('?a=1&b=x%20y&c=x+y&a=2&flag&=nope&d=%E2%82%AC')).toEqual({ a: '1', b: 'x y', c: 'x y', flag: '', d: '€' });
    expect(parseQuery('')).toEqual({});
    expect(parseQuery('?bad=%E0%A4%A')).toEqual({ bad: '%E0%A4%A' });
  });
});

describe('campaignFromQuery', () => {
  it("maps utm_* to Segment's campaign fields (utm_campaign → name)", () => {
    expect(campaignFromQuery('?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=espresso&utm_content=hero&utm_id=42&page=2')).toEqual({
      source: 'newsletter',
      medium: 'email',
      name: 'spring',
      term: 'espresso',
      content: 'hero',
      id: '42',
    });
  });

  it('keeps ad click ids and derives source/medium from them when UTM does not say', () => {
    expect(campaignFromQuery('?gclid=abc')).toEqual({ gclid: 'abc', source: 'google', medium: 'cpc' });
    expect(campaignFromQuery('?msclkid=m1')).toEqual({ msclkid: 'm1', source: 'bing', medium: 'cpc' });
    expect(campaignFromQuery('?fbclid=f1')).toEqual({ fbclid: 'f1', source: 'facebook', medium: 'social' });
    expect(campaignFromQuery('?utm_source=partner&gclid=abc')).toEqual({ source: 'partner', gclid: 'abc' });
    expect(campaignFromQuery('?gclid=abc&utm_medium=display')).toEqual({ gclid: 'abc', source: 'google', medium: 'display' });
  });

  it('is undefined without campaign parameters (or with empty ones)', () => {
    expect(campaignFromQuery('?q=shoes&page=2')).toBeUndefined();
    expect(campaignFromQuery('?utm_source=&gclid=')).toBeUndefined();
    expect(campaignFromQuery('')).toBeUndefined();
  });
});

describe('searchReferral', () => {
  it.each([
    ['https://www.google.com/search?q=best+espresso+machine&hl=en', 'google', 'best espresso machine'],
    ['https://www.google.co.uk/url?q=grinder', 'google', 'grinder'],
    ['https://www.bing.com/search?q=dual%20boiler', 'bing', 'dual boiler'],
    ['https://search.yahoo.com/search?p=coffee+beans', 'yahoo', 'coffee beans'],
    ['https://duckduckgo.com/?q=lever+espresso', 'duckduckgo', 'lever espresso'],
    ['https://yandex.ru/search/?text=%D0%BA%D0%BE%D1%84%D0%B5', 'yandex', 'кофе'],
    ['https://www.baidu.com/s?wd=%E5%92%96%E5%95%A1', 'baidu', '咖啡'],
    ['https://www.ecosia.org/search?q=fair+trade+coffee', 'ecosia', 'fair trade coffee'],
    ['https://www.startpage.com/do/search?query=moka+pot', 'startpage', 'moka pot'],
    ['https://search.brave.com/search?q=aeropress', 'brave', 'aeropress'],
  ])('%s → %s: %s', (referrer, engine, keyword) => {
    expect(searchReferral(referrer)).toEqual({ engine, keyword });
  });

  it('shortens keywords to 200 code units without splitting an emoji (a lone half is refused by the collector)', () => {
    const referrer = `https://www.bing.com/search?q=${'a'.repeat(199)}${encodeURIComponent('\u{1F600}')}`;
    expect(searchReferral(referrer)).toEqual({ engine: 'bing', keyword: 'a'.repeat(199) });
    expect(landingCampaign('', referrer)).toEqual({ source: 'bing', medium: 'organic', term: 'a'.repeat(199) });
  });

  it('knows the engine when it hides the keywords', () => {
    expect(searchReferral('https://www.google.com/')).toEqual({ engine: 'google' });
  });

  it('ignores sites that are not search engines, and Google services that are not search', () => {
    expect(searchReferral('https://example.com/search?q=x')).toBeUndefined();
    expect(searchReferral('https://notgoogle.com/?q=x')).toBeUndefined();
    expect(searchReferral('https://mail.google.com/mail/u/0/?q=x')).toBeUndefined();
    expect(searchReferral('')).toBeUndefined();
    expect(searchReferral('not a url')).toBeUndefined();
  });
});

describe('landingCampaign', () => {
  it('prefers the URL, then a search engine as organic traffic', () => {
    expect(landingCampaign('?utm_source=x', 'https://www.google.com/search?q=y')).toEqual({ source: 'x' });
    expect(landingCampaign('', 'https://www.google.com/search?q=y')).toEqual({ source: 'google', medium: 'organic', term: 'y' });
    expect(landingCampaign('', 'https://news.example.org/article')).toBeUndefined();
  });
});

describe('splitUrl', () => {
  it('splits host, path and query without the URL API', () => {
    expect(splitUrl('https://user@Shop.Example.com:8443/a/b?x=1#frag')).toEqual({ host: 'shop.example.com', path: '/a/b', search: '?x=1' });
    expect(splitUrl('http://h')).toEqual({ host: 'h', path: '/', search: '' });
    expect(splitUrl('/relative')).toBeUndefined();
  });
});
