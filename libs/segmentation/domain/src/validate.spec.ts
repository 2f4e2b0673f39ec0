import { AGGREGATE_FNS, AGGREGATE_OPS, CONDITION_KINDS, DURATION_UNITS, OPERATORS, type SegmentDefinition } from './definition';
import { SEGMENT_DEFINITION_SCHEMA, SEGMENT_EXAMPLES } from './schema';
import { checkReferences, validateDefinition } from './validate';

function errorsOf(input: unknown): { path: string; message: string }[] {
  const r = validateDefinition(input);
  if (r.ok) throw new Error('expected the definition to be invalid');
  return r.errors;
}

const paths = (input: unknown) => errorsOf(input).map((e) => e.path);
const withCondition = (condition: unknown) => ({ key: 'k', condition });

describe('validateDefinition', () => {
  it('accepts every condition kind and operator, and returns a copy', () => {
    const input = {
      key: 'all-kinds',
      name: 'n',
      description: 'd',
      priority: 2,
      exclusivityGroup: 'g',
      condition: {
        all: [
          { trait: 'plan', op: 'equals', value: 'pro' },
          { trait: 'plan', op: 'notEquals', value: 'free' },
          { trait: 'plan', op: 'in', value: ['a', 1, true] },
          { trait: 'plan', op: 'notIn', value: ['b'] },
          { trait: 'email', op: 'contains', value: '@' },
          { trait: 'phone', op: 'startsWith', value: '+49' },
          { trait: 'x', op: 'exists' },
          { trait: 'y', op: 'notExists' },
          { attribute: 'orders.count', op: 'gt', value: 1 },
          { attribute: 'orders.count', op: 'gte', value: 1 },
          { attribute: 'firstSeen', op: 'lt', value: '2026-01-01' },
          { attribute: 'orders.count', op: 'lte', value: 1 },
          { attribute: 'orders.revenue', op: 'between', value: [10, 20] },
          { attribute: 'lastSeen', op: 'withinLastDays', value: 7 },
          { attribute: 'firstSeen', op: 'olderThanDays', value: 0.5 },
          { not: { segment: 'other' } },
          {
            any: [
              {
                event: 'Product Viewed',
                where: [{ property: 'product.price', op: 'between', value: [1, 2] }],
                aggregate: { fn: 'max', property: 'price', op: 'eq', value: 3 },
                within: { amount: 90, unit: 'minutes' },
              },
            ],
          },
          { sequence: { first: { event: 'A', where: [{ property: 'p', op: 'exists' }] }, thenNot: { event: 'B' }, within: { amount: 1, unit: 'days' } } },
        ],
      },
    };
    const r = validateDefinition(input);
    expect(r).toEqual({ ok: true, definition: input });
    expect(r.ok && r.definition).not.toBe(input);
  });

  it.each([
    [null, '$'],
    [[], '$'],
    [{ condition: { segment: 'x' } }, 'key'],
    [{ key: 'k' }, 'condition'],
    [{ key: 'has space', condition: { segment: 'x' } }, 'key'],
    [{ key: 'k', condition: { segment: 'x' }, extra: 1 }, 'extra'],
    [{ key: 'k', name: '', condition: { segment: 'x' } }, 'name'],
    [{ key: 'k', priority: 'high', condition: { segment: 'x' } }, 'priority'],
    [withCondition('trait = 1'), 'condition'],
    [withCondition({}), 'condition'],
    [withCondition({ trait: 'a', attribute: 'b', op: 'exists' }), 'condition'],
    [withCondition({ all: [] }), 'condition.all'],
    [withCondition({ any: {} }), 'condition.any'],
    [
      withCondition({
        all: [
          { trait: 'a', op: 'exists' },
          { trait: 'b', op: 'matches', value: '.*' },
        ],
      }),
      'condition.all[1].op',
    ],
    [withCondition({ all: [{ trait: 'a', op: 'exists' }, { trait: 'b' }] }), 'condition.all[1].op'],
    [withCondition({ not: { trait: 'a', op: 'exists', value: 1 } }), 'condition.not.value'],
    [withCondition({ trait: 'a', op: 'equals' }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'equals', value: { $gt: 1 } }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'in', value: 'x' }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'in', value: [] }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'in', value: ['x', {}] }), 'condition.value[1]'],
    [withCondition({ trait: 'a', op: 'startsWith', value: 1 }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'gt', value: 'abc' }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'between', value: [2, 1] }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'between', value: [1, '2026-01-01'] }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'between', value: [1] }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'withinLastDays', value: 0 }), 'condition.value'],
    [withCondition({ trait: 'a', op: 'exists', extra: true }), 'condition.extra'],
    [withCondition({ attribute: 'orders..count', op: 'exists' }), 'condition.attribute'],
    [withCondition({ segment: 'bad key' }), 'condition.segment'],
    [withCondition({ event: 'X' }), 'condition.within'],
    [withCondition({ event: '', within: { amount: 1, unit: 'days' } }), 'condition.event'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'weeks' } }), 'condition.within.unit'],
    [withCondition({ event: 'X', within: { amount: 1.5, unit: 'days' } }), 'condition.within.amount'],
    [withCondition({ event: 'X', within: { amount: 401, unit: 'days' } }), 'condition.within'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, where: [{ property: 'p', op: 'withinLastDays', value: 1 }] }), 'condition.where[0].op'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, where: [{ prop: 'p', op: 'exists' }] }), 'condition.where[0].prop'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, aggregate: { fn: 'avg', property: 'p', op: 'gt', value: 1 } }), 'condition.aggregate.fn'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, aggregate: { fn: 'sum', op: 'gt', value: 1 } }), 'condition.aggregate.property'],
    [
      withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, aggregate: { fn: 'count', property: 'p', op: 'gt', value: 1 } }),
      'condition.aggregate.property',
    ],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, aggregate: { fn: 'count', op: 'gte', value: 2.5 } }), 'condition.aggregate.value'],
    [withCondition({ event: 'X', within: { amount: 1, unit: 'days' }, aggregate: { fn: 'count', op: 'between', value: 2 } }), 'condition.aggregate.op'],
    [withCondition({ sequence: { first: { event: 'A' }, thenNot: { event: 'B' } } }), 'condition.sequence.within'],
    [
      withCondition({ sequence: { first: { event: 'A', within: { amount: 1, unit: 'days' } }, thenNot: { event: 'B' }, within: { amount: 1, unit: 'days' } } }),
      'condition.sequence.first.within',
    ],
    [withCondition({ sequence: { first: 'A', thenNot: { event: 'B' }, within: { amount: 1, unit: 'days' } } }), 'condition.sequence.first'],
  ])('%j → error at %s', (input, path) => {
    expect(paths(input)).toContain(path);
  });

  it('reports every error, with a message', () => {
    const errors = errorsOf({
      key: 'k',
      condition: {
        all: [
          { trait: 'a', op: 'nope' },
          { attribute: 'b', op: 'gt' },
        ],
      },
      extra: 1,
    });
    expect(errors).toEqual([
      { path: 'extra', message: expect.stringContaining('unknown field') },
      { path: 'condition.all[0].op', message: expect.stringContaining('must be one of equals') },
      { path: 'condition.all[1].value', message: 'is required for gt' },
    ]);
  });

  it('limits: depth 10, 100 conditions, strings of 256', () => {
    const nest = (depth: number): unknown => (depth === 1 ? { trait: 'a', op: 'exists' } : { not: nest(depth - 1) });
    expect(validateDefinition(withCondition(nest(10))).ok).toBe(true);
    expect(errorsOf(withCondition(nest(11)))).toEqual([{ path: `condition${'.not'.repeat(10)}`, message: 'conditions must not be nested deeper than 10' }]);
    const leaves = (n: number) => ({ any: Array.from({ length: n }, () => ({ trait: 'a', op: 'exists' })) });
    expect(validateDefinition(withCondition(leaves(99))).ok).toBe(true);
    expect(errorsOf(withCondition(leaves(100)))).toEqual([{ path: 'condition.any[99]', message: 'a definition must have at most 100 conditions' }]);
    expect(validateDefinition(withCondition({ trait: 'x'.repeat(256), op: 'exists' })).ok).toBe(true);
    expect(paths(withCondition({ trait: 'x'.repeat(257), op: 'exists' }))).toEqual(['condition.trait']);
    expect(paths(withCondition({ trait: 'a', op: 'equals', value: 'v'.repeat(257) }))).toEqual(['condition.value']);
    expect(paths({ key: 'k', description: 'd'.repeat(257), condition: { segment: 'x' } })).toEqual(['description']);
  });

  it('nothing in a definition is code: an expression string is just a string to compare', () => {
    const r = validateDefinition(withCondition({ trait: 'name', op: 'equals', value: "'); process.exit(1); ('" }));
    expect(r.ok).toBe(true);
    expect(paths(withCondition({ trait: 'a', op: 'equals', value: () => 1 }))).toEqual(['condition.value']);
  });
});

describe('checkReferences', () => {
  const seg = (key: string, ...refs: string[]): SegmentDefinition => ({
    key,
    condition: refs.length === 0 ? { trait: 'a', op: 'exists' } : { all: refs.map((segment) => ({ segment })) },
  });

  it('orders the segments so that references come first', () => {
    const r = checkReferences([seg('c', 'b', 'a'), seg('b', 'a'), seg('a')]);
    expect(r).toEqual({ ok: true, order: ['a', 'b', 'c'] });
  });

  it('rejects unknown references with their path', () => {
    expect(checkReferences([seg('a', 'b', 'ghost'), seg('b')])).toEqual({
      ok: false,
      errors: [{ key: 'a', path: 'condition.all[1].segment', message: 'unknown segment ghost' }],
    });
  });

  it('rejects cycles, naming them (self-references included), and duplicate keys', () => {
    const r = checkReferences([seg('a', 'b'), seg('b', 'c'), seg('c', 'a'), seg('s', 's'), seg('ok'), seg('ok')]);
    expect(r.ok).toBe(false);
    const messages = r.ok ? [] : r.errors.map((e) => e.message);
    expect(messages).toEqual(expect.arrayContaining(['duplicate segment key ok', 'reference cycle: a → b → c → a', 'reference cycle: s → s']));
    expect(messages).toHaveLength(3);
  });
});

describe('JSON Schema', () => {
  it('is draft 2020-12 and its examples pass the validator and the reference check', () => {
    expect(SEGMENT_DEFINITION_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(SEGMENT_DEFINITION_SCHEMA.examples.length).toBeGreaterThan(3);
    const defs = SEGMENT_DEFINITION_SCHEMA.examples.map((e) => {
      const r = validateDefinition(e);
      expect(r).toEqual({ ok: true, definition: e });
      return e as unknown as SegmentDefinition;
    });
    expect(checkReferences(defs).ok).toBe(true);
    expect(SEGMENT_EXAMPLES).toBe(SEGMENT_DEFINITION_SCHEMA.examples);
  });

  it('names the same condition kinds, operators, aggregates and units as the validator', () => {
    const s = SEGMENT_DEFINITION_SCHEMA;
    expect(s.$defs.condition.oneOf.map((r) => r.$ref.replace('#/$defs/', ''))).toEqual([...CONDITION_KINDS]);
    expect(s.$defs.trait.properties.op.enum).toEqual([...OPERATORS]);
    expect(s.$defs.attribute.properties.op.enum).toEqual([...OPERATORS]);
    expect(s.$defs.propertyFilter.properties.op.enum).toEqual(OPERATORS.filter((o) => o !== 'withinLastDays' && o !== 'olderThanDays'));
    expect(s.$defs.aggregate.properties.fn.enum).toEqual([...AGGREGATE_FNS]);
    expect(s.$defs.aggregate.properties.op.enum).toEqual([...AGGREGATE_OPS]);
    expect(s.$defs.duration.properties.unit.enum).toEqual([...DURATION_UNITS]);
    // every $ref resolves
    const refs = JSON.stringify(s).match(/#\/\$defs\/[A-Za-z]+/g) ?? [];
    for (const r of refs) expect(Object.keys(s.$defs)).toContain(r.replace('#/$defs/', ''));
    // the schema's required/allowed fields are those the validator accepts
    expect(s.required).toEqual(['key', 'condition']);
    expect(Object.keys(s.properties).sort()).toEqual(['condition', 'description', 'exclusivityGroup', 'key', 'name', 'priority']);
  });
});
