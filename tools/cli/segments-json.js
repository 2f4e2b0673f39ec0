'use strict';
// JSON helpers of `mosaic segments` (segments-lib.js): canonical comparison of definitions and
// a line diff of two of them, pretty-printed.

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted at every level: equal for equal definitions whatever the key order. */
function canonicalJson(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (isObject(v)) {
      const out = {};
      for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sort(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value === undefined ? null : JSON.parse(JSON.stringify(value))));
}

function sameDefinition(a, b) {
  return canonicalJson(a) === canonicalJson(b);
}

/** Key order of `value` made to follow `template` where both have the key (for a readable diff). */
function alignKeys(value, template) {
  if (Array.isArray(value)) return value.map((v, i) => alignKeys(v, Array.isArray(template) ? template[i] : undefined));
  if (!isObject(value)) return value;
  const out = {};
  const t = isObject(template) ? template : {};
  for (const k of Object.keys(t)) if (k in value) out[k] = alignKeys(value[k], t[k]);
  for (const k of Object.keys(value)) if (!(k in out)) out[k] = alignKeys(value[k], undefined);
  return out;
}

/**
 * A line diff (longest common subsequence) of two texts in unified style: hunks headed
 * `@@ -a,n +b,m @@`, lines prefixed ` `, `-` or `+`, `context` unchanged lines around each
 * change. No lines for equal texts.
 */
function lineDiff(before, after, context = 3) {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  // lcs[i][j]: the LCS length of am[i..] and bm[j..].
  const n = am.length;
  const m = bm.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = am[i] === bm[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops = [];
  for (let i = 0; i < pre; i++) ops.push({ op: ' ', text: a[i] });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      ops.push({ op: ' ', text: am[i] });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] > lcs[i + 1][j])) {
      ops.push({ op: '+', text: bm[j++] });
    } else {
      ops.push({ op: '-', text: am[i++] });
    }
  }
  for (let k = a.length - suf; k < a.length; k++) ops.push({ op: ' ', text: a[k] });
  if (!ops.some((o) => o.op !== ' ')) return [];

  // Line numbers of each op in a and b; then hunks of changes with their context.
  let la = 0;
  let lb = 0;
  const numbered = ops.map((o) => {
    const at = { ...o, a: la, b: lb };
    if (o.op !== '+') la++;
    if (o.op !== '-') lb++;
    return at;
  });
  const changed = numbered.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  const hunks = [];
  for (const k of changed) {
    const from = Math.max(0, k - context);
    const to = Math.min(numbered.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && from <= last.to + 1) last.to = Math.max(last.to, to);
    else hunks.push({ from, to });
  }
  const out = [];
  for (const h of hunks) {
    const slice = numbered.slice(h.from, h.to + 1);
    const aCount = slice.filter((o) => o.op !== '+').length;
    const bCount = slice.filter((o) => o.op !== '-').length;
    const aStart = aCount ? slice.find((o) => o.op !== '+').a + 1 : slice[0].a;
    const bStart = bCount ? slice.find((o) => o.op !== '-').b + 1 : slice[0].b;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of slice) out.push(`${o.op}${o.text}`);
  }
  return out;
}

/** The diff of two definitions, pretty-printed (the server's with the file's key order). */
function definitionDiff(current, next, context = 3) {
  return lineDiff(JSON.stringify(alignKeys(current, next), null, 2), JSON.stringify(next, null, 2), context);
}

module.exports = { isObject, canonicalJson, sameDefinition, alignKeys, lineDiff, definitionDiff };
