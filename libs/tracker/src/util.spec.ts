import { randomFillSync } from 'node:crypto';
import { coerce, dataProps, isObject, parseJson, shortText, uuid } from './util';

describe('uuid', () => {
  it('is a version 4 UUID from the random bytes given', () => {
    const id = uuid((b) => b.fill(0xff));
    expect(id).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    const ids = new Set(Array.from({ length: 100 }, () => uuid((b) => randomFillSync(b))));
    expect(ids.size).toBe(100);
    for (const x of ids) expect(x).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('data-mosaic-prop-* attributes', () => {
  it('become snake_case properties with numbers and booleans typed', () => {
    const attrs = [
      { name: 'data-mosaic-prop-product-id', value: 'CM-900' },
      { name: 'data-mosaic-prop-price', value: '899.50' },
      { name: 'data-mosaic-prop-in-stock', value: 'true' },
      { name: 'data-mosaic-prop-zip', value: '00123' },
      { name: 'data-mosaic-event', value: 'Product Added' },
      { name: 'data-mosaic-prop-', value: 'ignored' },
      { name: 'class', value: 'btn' },
    ];
    expect(dataProps(attrs)).toEqual({ product_id: 'CM-900', price: 899.5, in_stock: true, zip: '00123' });
  });

  it('coerce keeps text that only looks numeric-ish', () => {
    expect(coerce('-12')).toBe(-12);
    expect(coerce('1e5')).toBe('1e5');
    expect(coerce('12345678901234567890')).toBe('12345678901234567890');
    expect(coerce('')).toBe('');
  });
});

describe('small helpers', () => {
  it('isObject, parseJson and shortText', () => {
    expect(isObject({})).toBe(true);
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseJson('{oops')).toBeUndefined();
    expect(parseJson(null)).toBeUndefined();
    expect(shortText('  Add \n  to   cart ')).toBe('Add to cart');
    expect(shortText('x'.repeat(150))).toHaveLength(100);
    expect(shortText(null)).toBe('');
  });
});
