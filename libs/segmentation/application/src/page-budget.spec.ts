import { PageBudget } from './page-budget';

describe('PageBudget', () => {
  it('starts a page only if one as long as the last would end within the budget', () => {
    let now = 1_000;
    const budget = new PageBudget(() => now, 800);
    now += 300; // the first page took 300 ms
    expect(budget.nextPageFits()).toBe(true); // 300 + 300 ≤ 800
    now += 300;
    expect(budget.nextPageFits()).toBe(false); // 600 + 300 > 800, although 600 < 800
  });

  it('judges by the last page, not the first', () => {
    let now = 0;
    const budget = new PageBudget(() => now, 1_000);
    now += 100;
    expect(budget.nextPageFits()).toBe(true);
    now += 500; // the machine got busy
    expect(budget.nextPageFits()).toBe(false); // 600 + 500 > 1,000
  });

  it('takes a page that ends exactly at the budget, and never stops without one', () => {
    let now = 0;
    const exact = new PageBudget(() => now, 400);
    now += 200;
    expect(exact.nextPageFits()).toBe(true);
    now = 0;
    const unlimited = new PageBudget(() => now);
    now += 1e9;
    expect(unlimited.nextPageFits()).toBe(true);
  });
});
