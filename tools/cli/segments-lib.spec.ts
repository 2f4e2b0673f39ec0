// The pure parts of `mosaic segments apply`: reading definition files, canonical comparison,
// the plan, reference order and cycles, the line diff.
import * as jsYaml from 'js-yaml';
import {
  canonicalJson,
  collectDefinitions,
  computePlan,
  definitionDiff,
  exitCodeOf,
  formatPlan,
  formatProblem,
  formatSegmentTable,
  isDefinitionFile,
  isManagedSegment,
  isReferenceProblem,
  lineDiff,
  parseDefinitionFile,
  referenceOrder,
  sameDefinition,
  segmentReferences,
  summarize,
  yamlLoader,
  type Entry,
  type ServerSegment,
  useReferenceGraph,
} from './segments-lib';
import * as referenceGraph from '../../libs/segmentation/domain/src/reference-graph';

useReferenceGraph(referenceGraph);

const yaml = yamlLoader(jsYaml);

const highLtv = { key: 'high-ltv', name: 'High lifetime value', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } };
const vip = { key: 'vip', condition: { all: [{ segment: 'high-ltv' }, { trait: 'plan', op: 'equals', value: 'pro' }] } };

describe('reading definition files', () => {
  it('picks .json, .yaml and .yml files only', () => {
    expect(['a.json', 'b.YAML', 'c.yml', 'd.txt', 'e.json.bak', 'yaml'].filter(isDefinitionFile)).toEqual(['a.json', 'b.YAML', 'c.yml']);
  });

  it('reads a JSON file holding one definition, and one holding an array (entries named by index)', () => {
    const one = parseDefinitionFile('high-ltv.json', `\uFEFF${JSON.stringify(highLtv)}`);
    expect(one).toEqual({ entries: [{ key: 'high-ltv', file: 'high-ltv.json', where: 'high-ltv.json', definition: highLtv }], errors: [] });
    const many = parseDefinitionFile('all.json', JSON.stringify([highLtv, vip]));
    expect(many.errors).toEqual([]);
    expect(many.entries.map((e) => [e.key, e.where])).toEqual([
      ['high-ltv', 'all.json[0]'],
      ['vip', 'all.json[1]'],
    ]);
    expect(many.entries[1]!.definition).toEqual(vip);
  });

  it('reads YAML with several documents (empty ones skipped, arrays inside), dates kept as strings', () => {
    const text = [
      '# first',
      'key: high-ltv',
      'name: High lifetime value',
      'condition: { attribute: orders.lifetimeValue, op: gt, value: 500 }',
      '---',
      '---',
      '- key: vip',
      '  condition:',
      '    all:',
      '      - segment: high-ltv',
      '      - { trait: plan, op: equals, value: pro }',
      '- key: recent',
      '  condition: { trait: signedUpAt, op: gt, value: 2024-01-01 }',
      '',
    ].join('\n');
    const r = parseDefinitionFile('set.yaml', text, yaml);
    expect(r.errors).toEqual([]);
    expect(r.entries.map((e) => [e.key, e.where])).toEqual([
      ['high-ltv', 'set.yaml (document 1)'],
      ['vip', 'set.yaml (document 3)[0]'],
      ['recent', 'set.yaml (document 3)[1]'],
    ]);
    expect(r.entries[0]!.definition).toEqual(highLtv);
    expect(r.entries[1]!.definition).toEqual(vip);
    expect(r.entries[2]!.definition['condition']).toEqual({ trait: 'signedUpAt', op: 'gt', value: '2024-01-01' });
  });

  it('reports syntax errors, non-objects and missing keys with the place', () => {
    expect(parseDefinitionFile('bad.json', '{"key": ').errors).toEqual([{ file: 'bad.json', message: expect.stringMatching(/^not valid JSON: /) }]);
    expect(parseDefinitionFile('bad.yaml', 'key: [unclosed', yaml).errors).toEqual([
      { file: 'bad.yaml', message: expect.stringMatching(/^not valid YAML: .*bad\.yaml/s) },
    ]);
    expect(parseDefinitionFile('dup-field.yaml', 'key: a\nkey: b\n', yaml).errors[0]!.message).toMatch(/duplicated mapping key/);
    expect(parseDefinitionFile('empty.yaml', '# nothing\n', yaml).errors).toEqual([{ file: 'empty.yaml', message: 'holds no segment definition' }]);
    const mixed = parseDefinitionFile('mixed.json', JSON.stringify([highLtv, 3, { condition: {} }, { key: 7 }]));
    expect(mixed.entries.map((e) => e.key)).toEqual(['high-ltv']);
    expect(mixed.errors).toEqual([
      { file: 'mixed.json[1]', path: '$', message: 'a segment definition must be an object, not a number' },
      { file: 'mixed.json[2]', path: 'key', message: 'is required' },
      { file: 'mixed.json[3]', path: 'key', message: 'must be a non-empty string, not a number' },
    ]);
  });

  it('collects a directory in file-name order; a key defined twice is an error naming both files', () => {
    const r = collectDefinitions(
      [
        { name: 'b.yaml', text: 'key: vip\ncondition: { segment: high-ltv }\n' },
        { name: 'a.json', text: JSON.stringify([highLtv, { key: 'other', condition: { trait: 'x', op: 'exists' } }]) },
        { name: 'c.json', text: JSON.stringify({ ...highLtv, name: 'again' }) },
      ],
      yaml,
    );
    expect(r.entries.map((e) => `${e.key}@${e.where}`)).toEqual(['high-ltv@a.json[0]', 'other@a.json[1]', 'vip@b.yaml']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'c.json', key: 'high-ltv' });
    expect(r.errors[0]!.message).toContain('a.json[0]');
    expect(r.errors[0]!.message).toContain('c.json');
  });
});

describe('canonical comparison', () => {
  it('ignores object key order at every level but not array order or values', () => {
    const reordered = { condition: { value: 500, op: 'gt', attribute: 'orders.lifetimeValue' }, name: 'High lifetime value', key: 'high-ltv' };
    expect(canonicalJson(reordered)).toBe(canonicalJson(highLtv));
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(sameDefinition(reordered, highLtv)).toBe(true);
    expect(sameDefinition({ ...highLtv, condition: { ...highLtv.condition, value: 501 } }, highLtv)).toBe(false);
    expect(sameDefinition({ all: [1, 2] }, { all: [2, 1] })).toBe(false);
    expect(sameDefinition({ ...highLtv, description: 'x' }, highLtv)).toBe(false);
  });
});

const entry = (definition: { key: string } & Record<string, unknown>, where = `${definition.key}.json`): Entry => ({
  key: definition.key,
  file: where,
  where,
  definition,
});
const stored = (definition: { key: string } & Record<string, unknown>, version = 1, status = 'active'): ServerSegment => ({
  key: definition.key,
  version,
  status,
  definition,
});

describe('references', () => {
  it('finds { segment } references anywhere in the condition tree, with their paths', () => {
    const d = { key: 'x', condition: { all: [{ segment: 'a' }, { not: { any: [{ trait: 't', op: 'exists' }, { segment: 'b' }] } }] } };
    expect(segmentReferences(d)).toEqual([
      { segment: 'a', path: 'condition.all[0].segment' },
      { segment: 'b', path: 'condition.all[1].not.any[1].segment' },
    ]);
    expect(segmentReferences(highLtv)).toEqual([]);
  });

  it('orders referenced segments first (ties by key), ignoring references outside the set', () => {
    const defs = [
      { key: 'a-top', definition: { condition: { all: [{ segment: 'm-mid' }, { segment: 'on-server' }] } } },
      { key: 'm-mid', definition: { condition: { segment: 'z-base' } } },
      { key: 'z-base', definition: { condition: { trait: 'x', op: 'exists' } } },
      { key: 'b-alone', definition: { condition: { trait: 'y', op: 'exists' } } },
    ];
    expect(referenceOrder(defs)).toEqual(['z-base', 'm-mid', 'a-top', 'b-alone']);
    expect(referenceOrder([...defs].reverse())).toEqual(['z-base', 'm-mid', 'a-top', 'b-alone']);
  });

  it('throws naming the cycle', () => {
    const defs = [
      { key: 'a', definition: { condition: { segment: 'b' } } },
      { key: 'b', definition: { condition: { any: [{ segment: 'c' }] } } },
      { key: 'c', definition: { condition: { segment: 'a' } } },
    ];
    expect(() => referenceOrder(defs)).toThrow('reference cycle: a → b → c → a');
    expect(() => referenceOrder([{ key: 's', definition: { condition: { segment: 's' } } }])).toThrow('s → s');
  });
});

describe('computePlan', () => {
  const premium = { key: 'premium', condition: { trait: 'plan', op: 'equals', value: 'premium' } };
  const legacy = { key: 'legacy', condition: { trait: 'old', op: 'exists' } };
  const gone = { key: 'gone', condition: { trait: 'gone', op: 'exists' } };

  it('creates new keys, updates differing ones (expectedVersion = version read), enables disabled ones, leaves equal ones', () => {
    const changedLtv = { ...highLtv, condition: { ...highLtv.condition, value: 1000 } };
    const reorderedPremium = { condition: { value: 'premium', op: 'equals', trait: 'plan' }, key: 'premium' };
    const plan = computePlan(
      [entry(changedLtv), entry(vip), entry(reorderedPremium), entry(legacy), entry({ ...gone, name: 'back' })],
      [stored(highLtv, 3), stored(premium, 2), stored(legacy, 5, 'disabled'), stored(gone, 7, 'disabled')],
    );
    expect(plan.errors).toEqual([]);
    expect(plan.actions.map((a) => [a.key, a.action, a.changesDefinition, a.enables, a.newVersion])).toEqual([
      ['gone', 'update', true, true, 9],
      ['high-ltv', 'update', true, false, 4],
      ['legacy', 'enable', false, true, 6],
      ['premium', 'unchanged', false, false, 2],
      ['vip', 'create', true, false, null],
    ]);
    const ltv = plan.actions.find((a) => a.key === 'high-ltv')!;
    expect(ltv).toMatchObject({ version: 3, definition: changedLtv, current: highLtv, file: 'high-ltv.json' });
    expect(plan.extra).toEqual([]);
  });

  it('leaves server segments missing from the directory alone, or disables active ones with prune (last)', () => {
    const server = [stored(highLtv, 1), stored(premium, 4), stored(legacy, 2, 'disabled')];
    const keep = computePlan([entry(highLtv)], server);
    expect(keep.actions.map((a) => `${a.key}:${a.action}`)).toEqual(['high-ltv:unchanged']);
    expect(keep.extra).toEqual(['premium']);
    const pruned = computePlan([entry(highLtv), entry({ ...vip, condition: { segment: 'high-ltv' } })], server, { prune: true });
    expect(pruned.actions.map((a) => `${a.key}:${a.action}`)).toEqual(['high-ltv:unchanged', 'vip:create', 'premium:disable']);
    expect(pruned.actions[2]).toMatchObject({ version: 4, newVersion: 5 });
    expect(pruned.extra).toEqual([]);
  });

  it("never prunes the clustering job's segments", () => {
    const cluster0: ServerSegment = {
      ...stored({ key: 'cluster.kmeans.0', name: 'high spenders', condition: { cluster: 'kmeans', index: 0 } }),
      updatedBy: 'clustering:kmeans',
    };
    const byJobOnly: ServerSegment = { ...stored({ key: 'cluster.other.1', condition: { all: [] } }), updatedBy: 'clustering:other' };
    const plan = computePlan([entry(highLtv)], [stored(highLtv), cluster0, byJobOnly, { ...stored(premium), updatedBy: 'admin-api' }], { prune: true });
    expect(plan.actions.map((a) => `${a.key}:${a.action}`)).toEqual(['high-ltv:unchanged', 'premium:disable']);
    expect(computePlan([entry(highLtv)], [cluster0]).extra).toEqual([]);
    expect(isManagedSegment(cluster0)).toBe(true);
    expect(isManagedSegment(stored(highLtv))).toBe(false);
  });

  it('writes referenced segments first, with the references of the set being written', () => {
    const base = { key: 'z-base', condition: { trait: 'x', op: 'exists' } };
    const mid = { key: 'm-mid', condition: { segment: 'z-base' } };
    const top = { key: 'a-top', condition: { all: [{ segment: 'm-mid' }, { segment: 'high-ltv' }] } };
    const plan = computePlan([entry(top), entry(mid), entry(base)], [stored(highLtv)]);
    expect(plan.errors).toEqual([]);
    expect(plan.actions.map((a) => a.key)).toEqual(['z-base', 'm-mid', 'a-top']);
    // A reference reversed between versions: b no longer refers to a, a now refers to b → b first.
    const a1 = { key: 'a', condition: { trait: 'x', op: 'exists' } };
    const b1 = { key: 'b', condition: { segment: 'a' } };
    const swapped = computePlan(
      [entry({ ...a1, condition: { segment: 'b' } }), entry({ ...b1, condition: { trait: 'y', op: 'exists' } })],
      [stored(a1), stored(b1)],
    );
    expect(swapped.errors).toEqual([]);
    expect(swapped.actions.map((a) => `${a.key}:${a.action}`)).toEqual(['b:update', 'a:update']);
  });

  it('reports cycles (also through server segments) and unknown references as errors; warns about disabled ones', () => {
    const a = { key: 'a', condition: { segment: 'b' } };
    const b = { key: 'b', condition: { all: [{ segment: 'a' }] } };
    const cyc = computePlan([entry(a), entry(b)], []);
    // found from a (keys in order): the reference closing it is b's
    expect(cyc.errors).toEqual([{ file: 'b.json', key: 'b', path: 'condition.all[0].segment', message: 'reference cycle: a → b → a' }]);
    // server: s refers to a; the directory makes a refer to s
    const viaServer = computePlan(
      [entry({ key: 'a', condition: { segment: 's' } })],
      [stored({ key: 's', condition: { segment: 'a' } }), stored({ key: 'a', condition: { trait: 'x', op: 'exists' } })],
    );
    expect(viaServer.errors.map((e) => e.message)).toEqual(['reference cycle: a → s → a']);
    const unknown = computePlan([entry({ key: 'x', condition: { any: [{ segment: 'nowhere' }] } })], []);
    expect(unknown.errors).toEqual([
      { file: 'x.json', key: 'x', path: 'condition.any[0].segment', message: expect.stringMatching(/^unknown segment nowhere/) },
    ]);
    const disabled = computePlan([entry(vip)], [stored(highLtv, 2, 'disabled')]);
    expect(disabled.errors).toEqual([]);
    expect(disabled.warnings).toEqual([expect.objectContaining({ key: 'vip', message: expect.stringMatching(/refers to high-ltv, which is disabled/) })]);
    expect(computePlan([entry(vip)], [stored(highLtv)], { prune: true }).warnings[0]!.message).toMatch(/--prune disables/);
  });
});

describe('the diff', () => {
  it('is empty for equal texts and marks replaced lines with - then +, with context and hunk headers', () => {
    expect(lineDiff('a\nb', 'a\nb')).toEqual([]);
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n');
    const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n');
    expect(lineDiff(before, after, 1)).toEqual(['@@ -4,3 +4,3 @@', ' 4', '-5', '+five', ' 6', '@@ -10,1 +10,2 @@', ' 10', '+11']);
    // close changes share one hunk
    expect(lineDiff('a\nb\nc\nd', 'A\nb\nc\nD', 1)).toEqual(['@@ -1,4 +1,4 @@', '-a', '+A', ' b', ' c', '-d', '+D']);
  });

  it('finds the longest common subsequence (insertions and deletions in the middle)', () => {
    expect(lineDiff('a\nb\nc\nd\ne', 'a\nx\nb\nd\ne', 10)).toEqual(['@@ -1,5 +1,5 @@', ' a', '+x', ' b', '-c', ' d', ' e']);
    expect(lineDiff('', 'a\nb')).toEqual(['@@ -0,0 +1,2 @@', '+a', '+b']);
  });

  it('compares pretty-printed definitions in the order of the file (no noise from key order)', () => {
    const server = { condition: { value: 500, op: 'gt', attribute: 'orders.lifetimeValue' }, key: 'high-ltv', name: 'High lifetime value' };
    const file = { ...highLtv, condition: { ...highLtv.condition, value: 1000 } };
    expect(definitionDiff(server, file)).toEqual([
      '@@ -4,6 +4,6 @@',
      '   "condition": {',
      '     "attribute": "orders.lifetimeValue",',
      '     "op": "gt",',
      '-    "value": 500',
      '+    "value": 1000',
      '   }',
      ' }',
    ]);
  });

  it('shows the plan: + new, ~ update with its diff, ~ enable, = unchanged, - disable', () => {
    const plan = computePlan(
      [
        entry({ ...highLtv, condition: { ...highLtv.condition, value: 1000 } }),
        entry(vip),
        entry({ key: 'p', condition: { trait: 'p', op: 'exists' } }),
        entry({ key: 'q', condition: { trait: 'q', op: 'exists' } }),
      ],
      [
        stored(highLtv, 3),
        stored({ key: 'p', condition: { trait: 'p', op: 'exists' } }, 2, 'disabled'),
        stored({ key: 'q', condition: { trait: 'q', op: 'exists' } }),
        stored({ key: 'old', condition: { trait: 'o', op: 'exists' } }),
      ],
      { prune: true },
    );
    expect(formatPlan(plan, { context: 0 })).toEqual([
      '~ high-ltv (v3 → v4)',
      '    @@ -7,1 +7,1 @@',
      '    -    "value": 500',
      '    +    "value": 1000',
      '~ p (v2 → v3, enable)',
      '= q (unchanged)',
      '+ vip (new)',
      '- old (disable)',
    ]);
  });
});

describe('messages and summary', () => {
  it('names file, key, path and message; recognises the server reference problems', () => {
    expect(formatProblem({ file: 'a.yaml (document 2)', key: 'vip', path: 'condition.all[1].op', message: 'unknown operator' })).toBe(
      'a.yaml (document 2): vip: condition.all[1].op: unknown operator',
    );
    expect(formatProblem({ file: 'bad.json', message: 'not valid JSON' })).toBe('bad.json: not valid JSON');
    expect(isReferenceProblem({ path: 'condition.segment', message: 'unknown segment x' })).toBe(true);
    expect(isReferenceProblem({ path: 'condition.segment', message: 'reference cycle: a → b → a' })).toBe(true);
    expect(isReferenceProblem({ path: '(segment b) condition.segment', message: 'whatever' })).toBe(true);
    expect(isReferenceProblem({ path: 'condition.op', message: 'unknown operator' })).toBe(false);
  });

  it('counts results; exit 1 for a failed write or a failed or unfinished backfill', () => {
    const ok = summarize([
      { action: 'create', outcome: 'ok', backfill: { version: 1, status: 'done', total: 1, processed: 1 } },
      { action: 'update', enables: true, outcome: 'ok' },
      { action: 'enable', enables: true, outcome: 'ok' },
      { action: 'disable', outcome: 'ok' },
      { action: 'unchanged', outcome: 'ok' },
    ]);
    expect(ok).toEqual({ created: 1, updated: 1, enabled: 2, disabled: 1, unchanged: 1, failed: 0, backfills: { done: 1, failed: 0, unfinished: 0 } });
    expect(exitCodeOf(ok)).toBe(0);
    expect(
      exitCodeOf(
        summarize([
          { action: 'update', outcome: 'failed' },
          { action: 'create', outcome: 'skipped' },
        ]),
      ),
    ).toBe(1);
    expect(summarize([{ action: 'update', outcome: 'failed' }])).toMatchObject({ updated: 0, failed: 1 });
    expect(exitCodeOf(summarize([{ action: 'create', outcome: 'ok', backfill: { version: 1, status: 'failed', total: 1, processed: 0 } }]))).toBe(1);
    expect(exitCodeOf(summarize([{ action: 'create', outcome: 'ok', backfill: { version: 1, status: 'running', total: 9, processed: 3 } }]))).toBe(1);
  });

  it('formats the list table', () => {
    const rows = formatSegmentTable([
      { key: 'high-ltv', version: 12, status: 'active', size: 1234, backfill: { version: 12, status: 'running', total: 2000, processed: 500, fraction: 0.25 } },
      {
        key: 'slow',
        version: 2,
        status: 'active',
        size: 5,
        backfill: { version: 2, status: 'running', total: 9, processed: 3, fraction: 0.33, etaSeconds: 250 },
      },
      { key: 'x', version: 1, status: 'disabled', size: 0, backfill: null },
    ]);
    expect(rows).toEqual([
      'KEY       VERSION  STATUS     SIZE  BACKFILL',
      'high-ltv       12  active    1,234  running 25% (500/2,000)',
      'slow            2  active        5  running 33% (3/9) ~4m10s left',
      'x               1  disabled      0  -',
    ]);
  });
});
