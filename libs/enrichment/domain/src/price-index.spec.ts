import { MAX_PRICE_INDEX_CATEGORIES, emptyPriceIndex, mergePriceIndex, observePrice } from './price-index';

describe('category price index bounds', () => {
  it('observes in place: the categories map is updated, not copied', () => {
    const index = emptyPriceIndex();
    const categories = index.categories;
    expect(observePrice(index, 'Mugs', 10)).toBe(index);
    observePrice(index, 'Mugs', 30);
    observePrice(index, 'Kettles', 50);
    expect(index.categories).toBe(categories);
    expect(categories).toEqual({ Mugs: { min: 10, max: 30, n: 2 }, Kettles: { min: 50, max: 50, n: 1 } });
  });

  it('holds at most maxCategories: a stream of new names drops the least seen, the most seen stay', () => {
    const index = emptyPriceIndex();
    for (let round = 0; round < 5; round += 1) for (let c = 0; c < 5; c += 1) observePrice(index, `real-${c}`, 10 + round, 10);
    let largest = 0;
    for (let j = 0; j < 1_000; j += 1) {
      observePrice(index, `junk-${j}`, 1, 10);
      largest = Math.max(largest, Object.keys(index.categories).length);
    }
    expect(largest).toBe(10);
    for (let c = 0; c < 5; c += 1) expect(index.categories[`real-${c}`]).toEqual({ min: 10, max: 14, n: 5 });
  });

  it('a merge is capped too, keeping the most seen (then by name)', () => {
    const a = emptyPriceIndex();
    const b = emptyPriceIndex();
    for (let c = 0; c < 8; c += 1) for (let k = 0; k <= c; k += 1) observePrice(a, `a-${c}`, 5);
    for (let c = 0; c < 8; c += 1) observePrice(b, `b-${c}`, 5);
    const merged = mergePriceIndex(a, b, 10);
    expect(Object.keys(merged.categories).sort()).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6', 'a-7', 'b-0'].sort());
    expect(Object.keys(a.categories)).toHaveLength(8); // the inputs are left as they were
    expect(Object.keys(b.categories)).toHaveLength(8);
  });

  it('with the default bound, junk names of the longest kind keep the shared document far below 16 MB', () => {
    const index = emptyPriceIndex();
    const name = (j: number) => `${j}-`.padEnd(256, '€');
    for (let j = 0; j < MAX_PRICE_INDEX_CATEGORIES * 3; j += 1) observePrice(index, name(j), 1 + j);
    expect(Object.keys(index.categories).length).toBeLessThanOrEqual(MAX_PRICE_INDEX_CATEGORIES);
    expect(Buffer.byteLength(JSON.stringify(index))).toBeLessThan(4_500_000);
    expect(Object.keys(mergePriceIndex(index, index).categories).length).toBeLessThanOrEqual(MAX_PRICE_INDEX_CATEGORIES);
  });
});
