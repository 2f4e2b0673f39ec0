/** Small pure helpers. */
import type { Json, Props } from './types';

/** A random (version 4) UUID from 16 random bytes. */
export function uuid(fill: (bytes: Uint8Array) => void): string {
  const b = new Uint8Array(16);
  fill(b);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += ((b[i] as number) + 0x100).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}

export function isObject(v: unknown): v is Props {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON.parse that answers undefined instead of throwing. */
export function parseJson(text: string | null | undefined): Json | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/** An attribute value as a property: numbers and booleans keep their type, the rest stays text. */
export function coerce(v: string): Json {
  if (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** `data-mosaic-prop-product-id="CM-900"` → `{product_id: 'CM-900'}`. */
export function dataProps(attrs: ArrayLike<{ name: string; value: string }>): Props {
  const out: Props = {};
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i] as { name: string; value: string };
    if (a.name.indexOf('data-mosaic-prop-') === 0 && a.name.length > 17) out[a.name.slice(17).replace(/-/g, '_')] = coerce(a.value);
  }
  return out;
}

/**
 * The first `max` UTF-16 code units of `s`, one fewer when the cut would split a surrogate pair
 * (an emoji): a lone half is not valid Unicode, and the collector refuses the whole message.
 * The one way the tracker shortens text.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Collapsed, trimmed text of at most `max` characters. */
export function shortText(text: string | null | undefined, max = 100): string {
  return truncate((text || '').replace(/\s+/g, ' ').trim(), max);
}
