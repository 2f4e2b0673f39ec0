import { pageFields, pageKey, scrollDepth } from './page';

describe('scrollDepth', () => {
  it('is how far the bottom of the viewport got, in percent', () => {
    expect(scrollDepth(0, 500, 2000)).toBe(25);
    expect(scrollDepth(750, 500, 2000)).toBe(63);
    expect(scrollDepth(1500, 500, 2000)).toBe(100);
    expect(scrollDepth(5000, 500, 2000)).toBe(100);
    expect(scrollDepth(-20, 500, 2000)).toBe(25);
  });

  it('is 100 when the page fits the viewport', () => {
    expect(scrollDepth(0, 800, 600)).toBe(100);
    expect(scrollDepth(0, 800, 0)).toBe(100);
  });
});

describe('pageFields and pageKey', () => {
  const loc = { href: 'https://shop.example.com/p/1?x=2#reviews', pathname: '/p/1', search: '?x=2' };
  it("gives Segment's page fields, the URL without its fragment", () => {
    expect(pageFields(loc, 'https://ref.example/', 'Title')).toEqual({
      path: '/p/1',
      referrer: 'https://ref.example/',
      search: '?x=2',
      title: 'Title',
      url: 'https://shop.example.com/p/1?x=2',
    });
  });

  it('ignores the fragment when deciding whether the page changed', () => {
    expect(pageKey(loc)).toBe('/p/1?x=2');
    expect(pageKey({ ...loc, href: 'https://shop.example.com/p/1?x=2#top' })).toBe(pageKey(loc));
  });
});
