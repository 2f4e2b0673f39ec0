import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(path.join(__dirname, 'bench-store-tables.mjs')).href;

/** Runs the module's pure functions in a child (Jest here runs CommonJS; the bench is ES modules). */
function run(body: string): unknown {
  const script = `import { statementTimesBetween, statementTimesLine, tableCountersBetween, tableCountersLine } from ${JSON.stringify(MODULE)};\nconsole.log(JSON.stringify((() => { ${body} })()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

const row = (seqScans: number, seqRows: number, indexScans: number, indexRows: number, autovacuums = 0, autoanalyzes = 0, blocksHit = 0, blocksRead = 0) => ({
  seqScans,
  seqRows,
  indexScans,
  indexRows,
  autovacuums,
  autoanalyzes,
  blocksHit,
  blocksRead,
});

describe('the pipeline report of what PostgreSQL counted per collection (bench-store-tables.mjs)', () => {
  it('keeps what changed between the readings, per collection, and counts a collection new since the first as from zero', () => {
    const before = { profiles: row(1, 100, 50, 50, 0, 0, 500, 20), events: row(0, 0, 10, 10, 0, 0, 30, 0), cold: row(0, 0, 1, 1, 0, 0, 4, 4) };
    const after = {
      profiles: row(3, 2_100, 80, 81, 1, 1, 900, 25),
      events: row(0, 0, 10, 10, 0, 0, 30, 0),
      fresh: row(0, 0, 4, 4, 0, 0, 12, 3),
      cold: row(0, 0, 1, 1, 0, 0, 4, 9),
    };
    expect(run(`return tableCountersBetween(${JSON.stringify(before)}, ${JSON.stringify(after)});`)).toEqual({
      profiles: row(2, 2_000, 30, 31, 1, 1, 400, 5),
      fresh: row(0, 0, 4, 4, 0, 0, 12, 3),
      cold: row(0, 0, 0, 0, 0, 0, 0, 5),
    });
    expect(run(`return tableCountersBetween(null, ${JSON.stringify(after)});`)).toBeNull();
  });

  it('names sequential reads first, largest first, then the vacuums, then the index reads and the buffer misses in all', () => {
    const delta = { a: row(1, 10, 5, 5, 0, 0, 90, 10), b: row(4, 4_000, 0, 0, 0, 1, 300, 0), c: row(0, 0, 7, 9, 0, 0, 0, 40) };
    expect(run(`return tableCountersLine(${JSON.stringify(delta)});`)).toBe(
      'rows read by sequential scans: b 4000 (4 scans), a 10 (1 scans); autovacuum / autoanalyze ran on b (0 / 1); 12 index scans fetched 14 rows; ' +
        '50 of 440 block reads missed the shared buffers (11.4 %)',
    );
    expect(run(`return tableCountersLine({ c: ${JSON.stringify(row(0, 0, 7, 9))} });`)).toBe(
      'no rows read by sequential scans; no autovacuum or autoanalyze ran; 7 index scans fetched 9 rows; 0 of 0 block reads missed the shared buffers (0 %)',
    );
    expect(run('return tableCountersLine(null);')).toMatch(/^not read /);
  });
});

describe("the pipeline report of PostgreSQL's execution time per statement kind and collection (bench-store-tables.mjs)", () => {
  it('keeps the calls and milliseconds each kind took between the readings', () => {
    const before = { 'UPDATE profiles': { calls: 10, ms: 4 }, 'SELECT profiles': { calls: 10, ms: 1 } };
    const after = { 'UPDATE profiles': { calls: 110, ms: 34 }, 'SELECT profiles': { calls: 10, ms: 1 }, 'INSERT events': { calls: 2, ms: 0.5 } };
    expect(run(`return statementTimesBetween(${JSON.stringify(before)}, ${JSON.stringify(after)});`)).toEqual({
      'UPDATE profiles': { calls: 100, ms: 30 },
      'INSERT events': { calls: 2, ms: 0.5 },
    });
    expect(run(`return statementTimesBetween(${JSON.stringify(before)}, null);`)).toBeNull();
  });

  it('names the most expensive (or most frequent) kinds first with their time per call, then the total, per event when told the events', () => {
    const delta = { 'SELECT a': { calls: 400, ms: 20.4 }, 'UPDATE a': { calls: 100, ms: 32.26 }, 'INSERT b': { calls: 4, ms: 8 } };
    expect(run(`return statementTimesLine(${JSON.stringify(delta)}, { top: 2 });`)).toBe(
      'UPDATE a 32 ms (100 calls, 0.323 ms each), SELECT a 20 ms (400 calls, 0.051 ms each); all 3 kinds: 61 ms in 504 statements',
    );
    expect(run(`return statementTimesLine(${JSON.stringify(delta)}, { top: 2, by: 'calls', events: 200 });`)).toBe(
      'SELECT a 20 ms (400 calls, 2.00 per event, 0.051 ms each), UPDATE a 32 ms (100 calls, 0.50 per event, 0.323 ms each); all 3 kinds: 61 ms in 504 statements (2.52 per event)',
    );
    expect(run('return statementTimesLine(null);')).toMatch(/^not read /);
  });
});
