import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const BENCH_CPU = pathToFileURL(path.join(__dirname, 'bench-cpu.mjs')).href;

// A child that burns 500 ms of its own CPU time (however long that takes on a busy machine),
// counted between two snapshots under the name the benchmark gave it.
const script = `
  import { spawn } from 'node:child_process';
  import { cpuBetween, cpuLine, cpuSnapshot } from ${JSON.stringify(BENCH_CPU)};
  const child = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 500000) {} setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const services = new Map([['spinner', { child }]]);
  const before = cpuSnapshot(services);
  const giveUpAt = Date.now() + 120_000;
  const spun = () => {
    const after = cpuSnapshot(services);
    if ((after.byPid.get(child.pid)?.ticks ?? 0) < 50 && Date.now() < giveUpAt) return setTimeout(spun, 50);
    const cpu = cpuBetween(before, after, 2000);
    child.kill();
    console.log(JSON.stringify({ cpu, line: cpuLine(cpu) }));
  };
  spun();
`;

it('counts the CPU seconds of a process the benchmark started under its name, per 1,000 events too', () => {
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  const spinner = out.cpu.groups.spinner;
  expect(spinner.cpuSeconds).toBeGreaterThanOrEqual(0.5);
  expect(spinner.perThousandEvents).toBeCloseTo(spinner.cpuSeconds / 2, 1);
  expect(out.cpu.machineBusySeconds).toBeGreaterThanOrEqual(spinner.cpuSeconds - 0.1);
  expect(out.line).toMatch(/spinner \d+(\.\d)? s \(\d+ %, [\d.]+ s\/1,000 events\)/);
}, 180_000);
