import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const BENCH_UTIL = pathToFileURL(path.join(__dirname, 'bench-util.mjs')).href;

/** A benchmark-like script that starts an idle child with spawnOwned, prints its PID, then leaves by `exitPath`. */
function benchScript(exitPath: string): string {
  return `
    import { spawnOwned } from ${JSON.stringify(BENCH_UTIL)};
    const child = spawnOwned(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log(child.pid);
    setTimeout(() => { ${exitPath} }, 100);
    setInterval(() => {}, 1000);
  `;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runBench(exitPath: string, signal?: NodeJS.Signals): Promise<{ childPid: number; code: number | null }> {
  const bench = spawn(process.execPath, ['--input-type=module', '-e', benchScript(exitPath)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const childPid = await new Promise<number>((resolve) => bench.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  if (signal) bench.kill(signal);
  const code = await new Promise<number | null>((resolve) => bench.once('exit', (c) => resolve(c)));
  return { childPid, code };
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !isRunning(pid);
}

it('timedOps counts every operation of concurrent workers', async () => {
  const script = `
    import { timedOps } from ${JSON.stringify(BENCH_UTIL)};
    let completed = 0;
    const r = await timedOps(8, 0.3, async () => { await new Promise((res) => setTimeout(res, 1)); completed += 1; return 1; });
    console.log(JSON.stringify({ ops: r.ops, completed }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const { ops, completed } = JSON.parse(out) as { ops: number; completed: number };
  expect(completed).toBeGreaterThan(8);
  expect(ops).toBe(completed);
});

describe('spawnOwned: no child outlives its benchmark', () => {
  it.each([
    ['a thrown error', 'throw new Error("bench failed")', undefined, 1],
    ['an unhandled rejection', 'Promise.reject(new Error("bench failed"))', undefined, 1],
    ['process.exit', 'process.exit(3)', undefined, 3],
    ['SIGTERM', '', 'SIGTERM' as const, 128 + 15],
    ['SIGINT', '', 'SIGINT' as const, 128 + 2],
  ])(
    'stops the child on %s',
    async (_name, exitPath, signal, expectedCode) => {
      const { childPid, code } = await runBench(exitPath, signal);
      expect(childPid).toBeGreaterThan(0);
      expect(code).toBe(expectedCode);
      expect(await gone(childPid)).toBe(true);
    },
    30_000,
  );
});
