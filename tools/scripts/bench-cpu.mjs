// Where the machine's CPU goes during a benchmark phase (Linux /proc): CPU seconds of each process
// group — the services a benchmark started (by PID), this load generator, Kafka, FerretDB, the
// PostgreSQL server and its backends — and of the whole machine, between two snapshots.
// A process that ends between the snapshots is missed (the services' pooled connections keep
// their PostgreSQL backends for the run); one that starts is counted whole.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks a second of /proc's CPU times (USER_HZ, 100 on Linux for every architecture Node runs on). */
const TICKS_PER_SECOND = 100;

/** The group of a process not started by the benchmark, by its command line; undefined: none of ours. */
function groupOf(cmdline) {
  if (/\bkafka\.Kafka\b/.test(cmdline)) return 'kafka';
  if (cmdline.startsWith('postgres') || cmdline.includes('/postgresql/')) return 'postgresql';
  if (/(^|\/)ferretdb\b/i.test(cmdline)) return 'ferretdb';
  return undefined;
}

function readProcess(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return { ticks: Number(fields[11]) + Number(fields[12]), cmdline }; // utime + stime
  } catch {
    return undefined; // ended meanwhile, or not Linux
  }
}

function machineBusyTicks() {
  const [, ...times] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = times.map(Number); // idle and iowait skipped
  return user + nice + system + irq + softirq + steal;
}

/** CPU ticks by PID with its group; `services`: name → `{ child }` (a ChildProcess) the benchmark started. */
export function cpuSnapshot(services) {
  const byPid = new Map();
  const named = new Map([...services].map(([name, s]) => [s.child.pid, name]));
  let pids = [];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    const p = readProcess(pid);
    const group = named.get(pid) ?? (pid === process.pid ? 'load generator' : p && groupOf(p.cmdline));
    if (p && group) byPid.set(pid, { group, ticks: p.ticks });
  }
  return { at: Date.now(), machine: machineBusyTicks(), byPid };
}

/**
 * CPU seconds by group between two snapshots, per 1,000 `events` too, and the machine's: busy
 * seconds, the cores' capacity over the interval, and what no group accounts for (other processes).
 */
export function cpuBetween(before, after, events) {
  if (!before || !after) return undefined;
  const seconds = {};
  for (const [pid, { group, ticks }] of after.byPid) seconds[group] = (seconds[group] ?? 0) + (ticks - (before.byPid.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
  const wall = (after.at - before.at) / 1000;
  const busy = (after.machine - before.machine) / TICKS_PER_SECOND;
  const accounted = Object.values(seconds).reduce((a, b) => a + b, 0);
  const round = (x) => +x.toFixed(1);
  const groups = Object.fromEntries(
    Object.entries(seconds)
      .sort((a, b) => b[1] - a[1])
      .map(([g, s]) => [g, { cpuSeconds: round(s), perThousandEvents: events > 0 ? +((1000 * s) / events).toFixed(2) : null }]),
  );
  return {
    wallSeconds: round(wall),
    machineBusySeconds: round(busy),
    capacitySeconds: round(wall * cpus().length),
    otherSeconds: round(Math.max(0, busy - accounted)),
    groups,
  };
}

/** The report's line: each group's CPU seconds and share of the machine's busy time. */
export function cpuLine(cpu) {
  if (!cpu) return 'n/a (no /proc)';
  const share = (s) => (cpu.machineBusySeconds > 0 ? Math.round((100 * s) / cpu.machineBusySeconds) : 0);
  const parts = Object.entries(cpu.groups).map(
    ([g, c]) => `${g} ${c.cpuSeconds} s (${share(c.cpuSeconds)} %${c.perThousandEvents === null ? '' : `, ${c.perThousandEvents} s/1,000 events`})`,
  );
  return `${parts.join(', ')}; other processes ${cpu.otherSeconds} s`;
}
