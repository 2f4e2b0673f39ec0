// Helpers shared by the benchmarks (tools/scripts/bench*.mjs).
import { readFileSync } from 'node:fs';

/** `--name value` from argv as a number, else `def`. */
export function numberOption(argv, name, def) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** Resident memory of a process, MB. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024);
}

/** SIGTERM and wait for the exit (SIGKILL after 30 s): a child must not outlive the benchmark. */
export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
