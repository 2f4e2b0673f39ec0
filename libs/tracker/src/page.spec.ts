import { PageVisit, pageFields, pageKey, scrollDepth } from './page';

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

describe('PageVisit (the facts of Page Exited)', () => {
  const visit = (now: number, visible: boolean): PageVisit => {
    const v = new PageVisit();
    v.start(now, visible);
    return v;
  };

  it('reports one exit per page view, however often the visitor switches away and back', () => {
    const v = visit(1_000, true);
    expect(v.exit(3_540)).toBe(2.5);
    v.show(10_000);
    expect(v.exit(20_000)).toBeUndefined();
    v.show(30_000);
    expect(v.exit(40_000)).toBeUndefined();
  });

  it('reports again for the next page view (SPA navigation), counting from its start', () => {
    const v = visit(0, true);
    v.scrolled(80);
    expect(v.exit(5_000)).toBe(5);
    v.start(5_000, true);
    expect(v.depth).toBe(0);
    expect(v.exit(6_200)).toBe(1.2);
  });

  it('counts a view opened in a background tab from when it is first shown', () => {
    const v = visit(0, false);
    v.show(4_000);
    v.show(5_000);
    expect(v.exit(7_000)).toBe(3);
    expect(visit(0, false).exit(9_000)).toBe(0);
  });

  it('keeps the deepest scroll', () => {
    const v = visit(0, true);
    v.scrolled(60);
    v.scrolled(20);
    expect(v.depth).toBe(60);
  });
});
