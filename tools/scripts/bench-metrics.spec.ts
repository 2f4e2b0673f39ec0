import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(path.join(__dirname, 'bench-metrics.mjs')).href;

/** Runs the module's pure functions in a child (Jest here runs CommonJS; the bench is ES modules). */
function run(body: string): unknown {
  const script = `import { eventLoopLateMs } from ${JSON.stringify(MODULE)};\nconsole.log(JSON.stringify((() => { ${body} })()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('the event-loop delay the benchmarks report (bench-metrics.mjs)', () => {
  it("is the lateness beyond prom-client's 10 ms monitor interval, never negative", () => {
    // An idle loop's monitor records about 10 ms per interval; 12.5 ms means the loop was 2.5 ms late.
    expect(run('return [0.0101, 0.0125, 0.0467, 0.004].map(eventLoopLateMs);')).toEqual([0.1, 2.5, 36.7, 0]);
  });
});
