import { Checker, KEY_PATTERN, MAX_ERRORS, describe as describeValue, join } from './checker';

describe('Checker', () => {
  it('collects every error with its JSON path and returns a fresh value only when there is none', () => {
    const c = new Checker();
    const input = { key: 'a b', port: 70_000, extra: 1 };
    c.fields(input, '', ['key', 'port'], ['key', 'port', 'name']);
    c.key(input.key, 'key');
    c.number(input.port, 'port', { integer: true, min: 1, max: 65_535 });
    expect(c.errors).toEqual([
      { path: 'extra', message: 'unknown field (allowed: key, port)' },
      { path: 'name', message: 'is required' },
      { path: 'key', message: `must match ${KEY_PATTERN} (letters, digits, _ . : -)` },
      { path: 'port', message: 'must be at most 65535' },
    ]);
    expect(c.result(() => input)).toEqual({ ok: false, errors: c.errors });
    const ok = new Checker();
    ok.oneOf('post', 'method', ['post', 'put']);
    expect(ok.result(() => ({ method: 'post' }))).toEqual({ ok: true, value: { method: 'post' } });
  });

  it('names what a value was instead, and stops recording after MAX_ERRORS', () => {
    const c = new Checker();
    expect(c.string(null, 'a')).toBe(false);
    expect(c.object([], 'b', '{ x }')).toBe(false);
    expect(c.errors.map((e) => e.message)).toEqual(['must be a string, not null', 'must be an object { x }, not an array']);
    for (let i = 0; i < MAX_ERRORS * 2; i += 1) c.err(join('list', String(i)), 'bad');
    expect(c.errors).toHaveLength(MAX_ERRORS);
    expect(describeValue(3)).toBe('a number');
    expect(new Checker().fail('', 'x')).toBe(false);
  });
});
