// Where a page's main-thread JavaScript time goes (`npm run bench -- console --cpu-profile`): a
// V8 CPU profile of one load through the DevTools protocol, self time per sample mapped through
// the built app's source map to the package or source file (and the function) it belongs to.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Starts profiling `page` (before it navigates); returns the session `stopCpuProfile` takes. */
export async function startCpuProfile(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
  await cdp.send('Profiler.start');
  return cdp;
}

/** The package (`echarts`, `react-dom`, …) or app file a source path belongs to. */
function groupOf(source) {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = source.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = source.indexOf('src/');
  return src >= 0 ? source.slice(src) : source;
}

function sourceMapOf(require, assetsDir) {
  const { SourceMapConsumer } = require('source-map-js');
  const maps = new Map();
  for (const f of readdirSync(assetsDir)) {
    if (f.endsWith('.js.map')) maps.set(f.replace(/\.map$/, ''), new SourceMapConsumer(JSON.parse(readFileSync(join(assetsDir, f), 'utf8'))));
  }
  return (url, line, column) => {
    const file = url.split('/').pop()?.split('?')[0];
    const map = file ? maps.get(file) : undefined;
    if (!map) return undefined;
    const pos = map.originalPositionFor({ line: line + 1, column });
    if (!pos.source) return undefined;
    const path = pos.source.includes('node_modules/') ? pos.source.slice(pos.source.lastIndexOf('node_modules/') + 13) : groupOf(pos.source);
    return { group: groupOf(pos.source), name: pos.name, where: `${path}:${pos.line}` };
  };
}

/** Stops the profile: total ms, and the self time (ms) by package/file and by function, largest first. */
export async function stopCpuProfile(cdp, { require, assetsDir, top = 15, saveTo }) {
  const { profile } = await cdp.send('Profiler.stop');
  if (saveTo) writeFileSync(saveTo, JSON.stringify(profile)); // opens in Chrome DevTools (Performance → load profile)
  const locate = sourceMapOf(require, assetsDir);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byGroup = new Map();
  const byFunction = new Map();
  const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);
  for (const [id, us] of selfUs) {
    const { callFrame: f } = nodes.get(id);
    const mapped = f.url ? locate(f.url, f.lineNumber, f.columnNumber) : undefined;
    const group = mapped?.group ?? (f.url ? f.url.split('/').pop() : f.functionName || '(anonymous)');
    add(byGroup, group, us);
    add(byFunction, `${mapped?.name ?? f.functionName ?? '(anonymous)'} @ ${mapped?.where ?? group}`, us);
  }
  const parents = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
  const frameOf = (id) => {
    const { callFrame: f } = nodes.get(id);
    const mapped = f.url ? locate(f.url, f.lineNumber, f.columnNumber) : undefined;
    return `${mapped?.name ?? f.functionName ?? '(anonymous)'} @ ${mapped?.where ?? f.url ?? ''}`;
  };
  const [hottest] = [...selfUs.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
  const hottestStack = [];
  for (let id = hottest; id !== undefined && hottestStack.length < 12; id = parents.get(id)) hottestStack.push(frameOf(id));
  const ms = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, Math.round(us / 1000)]);
  return { totalMs: Math.round((profile.endTime - profile.startTime) / 1000), byGroup: ms(byGroup), byFunction: ms(byFunction), hottestStack };
}
