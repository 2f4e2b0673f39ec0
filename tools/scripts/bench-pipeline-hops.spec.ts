import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const HOPS = pathToFileURL(path.join(__dirname, 'bench-pipeline-hops.mjs')).href;

// Records as kafkajs hands them over (value a Buffer, timestamp a string of ms), the pipeline's
// message shapes: two pings of run r1, one of another run, and other events.
const script = `
  import { hopRecorder, hopsLine } from ${JSON.stringify(HOPS)};
  const rec = (payload, timestamp) => ({ value: Buffer.from(JSON.stringify({ messageId: 'envelope', payload })), timestamp: String(timestamp) });
  const r = hopRecorder('r1');
  const ping = (n) => 'ping-r1-' + n;
  r.record('events.raw', rec({ messageId: 'd-r1-1', event: 'Page Viewed' }, 1000));
  r.record('events.raw', rec({ messageId: ping(1) }, 1010));
  r.record('events.raw', rec({ messageId: ping(2) }, 1020));
  r.record('events.raw', rec({ messageId: 'ping-r2-1' }, 1020));
  r.record('events.raw', rec({ messageId: ping(1) }, 5000)); // a re-delivery: the first record counts
  r.record('events.resolved', rec({ kind: 'event', event: { messageId: ping(1) } }, 1110));
  r.record('events.resolved', rec({ kind: 'event', event: { messageId: ping(2) } }, 1320));
  r.record('profiles.changes', rec({ trigger: { messageId: ping(1) } }, 1610));
  r.record('profiles.changes', rec({ trigger: { messageId: ping(2) } }, 2320));
  r.record('segments.membership', rec({ segmentKey: 'bench-browsers', change: 'entered', reason: { messageId: ping(1) } }, 1700));
  r.record('segments.membership', rec({ segmentKey: 'bench-latency', change: 'entered', reason: { messageId: ping(1) } }, 1810));
  const sentAt = new Map([[ping(1), 1000], [ping(2), 1000], [ping(3), 1000]]);
  const hops = r.summary(sentAt);
  console.log(JSON.stringify({ hops, line: hopsLine(hops), fewestSeen: r.fewestSeen() }));
`;

it('times each hop of the pings from the first record that carries each, and only pings of its own run', () => {
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  expect(out.hops).toEqual([
    { hop: 'POST → events.raw', stage: 'collector', pings: 2, p50Ms: 20, p99Ms: 20 },
    { hop: 'events.raw → events.resolved', stage: 'identity', pings: 2, p50Ms: 300, p99Ms: 300 },
    { hop: 'events.resolved → profiles.changes', stage: 'enrichment', pings: 2, p50Ms: 1000, p99Ms: 1000 },
    { hop: 'profiles.changes → segments.membership', stage: 'segmentation', pings: 1, p50Ms: 200, p99Ms: 200 },
  ]);
  expect(out.line).toBe('collector 20/20 ms (2), identity 300/300 ms (2), enrichment 1000/1000 ms (2), segmentation 200/200 ms (1)');
  // what the tap waits on: every topic's count, here the membership entries' (1), not the largest
  expect(out.fewestSeen).toBe(1);
});
