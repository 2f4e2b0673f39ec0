import type { ValidationIssue } from './errors';
import { MAX_LISTED_ISSUES, MAX_LISTED_REJECTIONS } from './limits';
import { Refusals } from './refusals';

const item = (n: number, issues: number) => ({
  n,
  errors: Array.from({ length: issues }, (): ValidationIssue => ({ path: '', code: 'required', message: 'm' })),
});

describe('Refusals', () => {
  it('lists the first MAX_LISTED_REJECTIONS and counts every one with its issues', () => {
    const r = new Refusals<ReturnType<typeof item>>();
    for (let i = 0; i < 1_000; i++) r.add(item(i, 2));
    expect(r.listed.map((x) => x.n)).toEqual(Array.from({ length: MAX_LISTED_REJECTIONS }, (_, i) => i));
    expect([r.count, r.issueCount]).toEqual([1_000, 2_000]);
  });

  it('always lists the first whole, however many issues it has', () => {
    const r = new Refusals<ReturnType<typeof item>>();
    r.add(item(0, MAX_LISTED_ISSUES + 5));
    r.add(item(1, 1));
    expect(r.listed.map((x) => x.n)).toEqual([0]);
    expect(r.listed[0]?.errors).toHaveLength(MAX_LISTED_ISSUES + 5);
  });

  it('lists only the first ones: nothing after one left out for its issues, even a small one', () => {
    const r = new Refusals<ReturnType<typeof item>>();
    r.add(item(0, MAX_LISTED_ISSUES - 1));
    r.add(item(1, 2));
    r.add(item(2, 1));
    expect(r.listed.map((x) => x.n)).toEqual([0]);
    expect([r.count, r.issueCount]).toEqual([3, MAX_LISTED_ISSUES + 2]);
  });
});
