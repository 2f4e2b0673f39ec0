import { randomFillSync } from 'node:crypto';
import { coerce, dataProps, isObject, parseJson, shortText, truncate, uuid } from './util';

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

describe('truncate', () => {
  const emoji = '\u{1F600}'; // 😀: two UTF-16 code units (a surrogate pair)

  it('never cuts a surrogate pair in half: a lone half would get the whole message refused', () => {
    expect(truncate(`${'a'.repeat(99)}${emoji}`, 100)).toBe('a'.repeat(99));
    expect(truncate(`${'a'.repeat(98)}${emoji}b`, 100)).toBe(`${'a'.repeat(98)}${emoji}`);
    expect(truncate(emoji, 1)).toBe('');
    expect(shortText(`${'a'.repeat(99)}${emoji}`)).toBe('a'.repeat(99));
  });

  it('keeps text that fits, and cuts other text to exactly max code units', () => {
    expect(truncate(`a${emoji}`, 3)).toBe(`a${emoji}`);
    expect(truncate('abcdef', 4)).toBe('abcd');
    expect(truncate('\u00e9t\u00e9', 2)).toBe('\u00e9t');
    expect(truncate('abc', 0)).toBe('');
  });
});
