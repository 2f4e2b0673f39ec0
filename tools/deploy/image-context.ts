/**
 * A Docker-less stand-in for `docker build -f docker/Dockerfile .`, for the image-context test:
 * the build context is filtered by the Dockerfile's ignore file with Docker's own rules, and
 * each stage's WORKDIR, ENV, COPY and RUN are carried out in a directory standing for that
 * stage's root filesystem. What the emulation cannot honour (an instruction it does not know,
 * a COPY source missing from the filtered context) fails loudly, as the real build would.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { minimatch } from 'minimatch';

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage; comment lines dropped, continuation lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    const ins = { op: (m?.[1] ?? line).toUpperCase(), args: (m?.[2] ?? '').trim() };
    if (ins.op === 'FROM') stages.push({ name: /\s+AS\s+(\S+)\s*$/i.exec(ins.args)?.[1] ?? String(stages.length), instructions: [] });
    else if (ins.op !== 'ARG' || stages.length) stages[stages.length - 1]?.instructions.push(ins);
  }
  return stages;
}

// ---------------------------------------------------------------------------------------------
// The build context: .dockerignore semantics as Docker implements them (moby/patternmatcher),
// not .gitignore's. Patterns match the whole slash-separated path or any of its parent
// directories, `*` stops at `/`, `**` spans directories, and the last matching pattern decides;
// a `!` pattern re-includes even below an excluded directory.

interface IgnorePattern {
  glob: string;
  include: boolean;
}

export function parseIgnoreFile(text: string): IgnorePattern[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const include = l.startsWith('!');
      const glob = posix.normalize((include ? l.slice(1) : l).trim()).replace(/^\/+/, '');
      return { glob, include };
    });
}

function matchesOrParent(path: string, glob: string): boolean {
  const parts = path.split('/');
  return parts.some((_, i) => minimatch(parts.slice(0, i + 1).join('/'), glob, { dot: true }));
}

export function isExcluded(path: string, patterns: readonly IgnorePattern[]): boolean {
  let excluded = false;
  for (const p of patterns) if (matchesOrParent(path, p.glob)) excluded = !p.include;
  return excluded;
}

/**
 * Relative paths (slash-separated) of the files the ignore file lets into the context. An
 * excluded directory is entered only when a `!` pattern names something below it, as Docker
 * does, so node_modules and .git are never walked.
 */
export function contextFiles(root: string, patterns: readonly IgnorePattern[]): string[] {
  const out: string[] = [];
  const reincludes = patterns.filter((p) => p.include).map((p) => `${p.glob}/`);
  const walk = (rel: string): void => {
    for (const entry of readdirSync(rel ? join(root, rel) : root, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const excluded = isExcluded(path, patterns);
      if (entry.isDirectory()) {
        if (!excluded || reincludes.some((r) => r.startsWith(`${path}/`))) walk(path);
      } else if (!excluded && (entry.isFile() || entry.isSymbolicLink())) out.push(path);
    }
  };
  walk('');
  return out.sort();
}

export function copyContext(root: string, ignoreText: string, target: string): string[] {
  const files = contextFiles(root, parseIgnoreFile(ignoreText));
  for (const f of files) {
    mkdirSync(dirname(join(target, f)), { recursive: true });
    cpSync(join(root, f), join(target, f));
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Stages

/** Words of a shell-like argument list: whitespace-separated, double or single quotes kept together. */
function words(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return [...args.matchAll(/(?:"[^"]*"|'[^']*'|\S)+/g)].map((m) => m[0].replace(/^(["'])(.*)\1$/, '$2'));
}

function flagsAndRest(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1] as string] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.trim() };
}

export interface StageRun {
  stage: Stage;
  /** stands for the stage's `/` */
  rootfs: string;
  /** WORKDIR at the end of the stage, as a container path */
  workdir: string;
  /** ENV at the end of the stage */
  env: Record<string, string>;
  /** the host path of a container path of this stage (relative ones from WORKDIR) */
  hostPath(containerPath: string): string;
}

export interface RunStageOptions {
  /** the filtered build context */
  context: string;
  /** where the stage's root filesystem goes */
  rootfs: string;
  /** stages already built, by name, for COPY --from */
  built: ReadonlyMap<string, StageRun>;
  /** base environment of RUN steps (PATH, HOME, proxies, npm settings of the machine) */
  hostEnv: Record<string, string>;
  /** for progress and failures */
  log: (line: string) => void;
}

export async function runStage(stage: Stage, opts: RunStageOptions): Promise<StageRun> {
  const run: StageRun = {
    stage,
    rootfs: opts.rootfs,
    workdir: '/',
    env: {},
    hostPath: (p) => join(opts.rootfs, posix.resolve(run.workdir, p)),
  };
  for (const ins of stage.instructions) {
    switch (ins.op) {
      case 'WORKDIR':
        run.workdir = posix.resolve(run.workdir, ins.args);
        mkdirSync(run.hostPath('.'), { recursive: true });
        break;
      case 'ENV':
        Object.assign(run.env, parseEnv(ins.args));
        break;
      case 'COPY':
        copy(ins.args, run, opts);
        break;
      case 'RUN':
        await shell(ins.args, run, opts);
        break;
      // Metadata that changes nothing on disk; the test reads CMD and HEALTHCHECK itself.
      case 'ARG':
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'CMD':
      case 'LABEL':
      case 'STOPSIGNAL':
        break;
      default:
        throw new Error(`image-context: ${ins.op} is not emulated (stage ${stage.name}); teach tools/deploy/image-context.ts`);
    }
  }
  return run;
}

/** WORKDIR, ENV and CMD (exec form) of a stage: what a container of that stage runs unless told otherwise. */
export function stageRuntime(stage: Stage): { workdir: string; env: Record<string, string>; cmd: string[] } {
  const out = { workdir: '/', env: {} as Record<string, string>, cmd: [] as string[] };
  for (const ins of stage.instructions) {
    if (ins.op === 'WORKDIR') out.workdir = posix.resolve(out.workdir, ins.args);
    else if (ins.op === 'ENV') Object.assign(out.env, parseEnv(ins.args));
    else if (ins.op === 'CMD') out.cmd = ins.args.startsWith('[') ? (JSON.parse(ins.args) as string[]) : ['/bin/sh', '-c', ins.args];
  }
  return out;
}

function parseEnv(args: string): Record<string, string> {
  const w = words(args);
  if (w.length && !(w[0] as string).includes('=')) return { [w[0] as string]: args.slice((w[0] as string).length).trim() };
  return Object.fromEntries(w.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** COPY as Docker does it: a directory source copies its contents; several sources need a directory destination. */
function copy(args: string, run: StageRun, opts: RunStageOptions): void {
  const { flags, rest } = flagsAndRest(args);
  const w = words(rest);
  const dest = w.pop() as string;
  const from = flags.from ? opts.built.get(flags.from) : undefined;
  if (flags.from && !from) throw new Error(`COPY --from=${flags.from}: no such stage built before ${run.stage.name}`);
  const sources = w.flatMap((src) => expandSource(src, from, opts.context));
  const destDir = dest.endsWith('/') || w.length > 1 || sources.length > 1;
  const destPath = run.hostPath(dest);
  const intoDir = destDir || (existsSync(destPath) && statSync(destPath).isDirectory());
  for (const src of sources) {
    const isDir = statSync(src).isDirectory();
    const target = intoDir && !isDir ? join(destPath, posix.basename(src)) : destPath;
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    cpSync(src, target, { recursive: true });
  }
}

function expandSource(src: string, from: StageRun | undefined, context: string): string[] {
  const base = from ? from.hostPath(src) : join(context, posix.normalize(src).replace(/^\/+/, ''));
  if (!/[*?[]/.test(src)) {
    if (!existsSync(base)) throw new Error(`COPY ${src}: not found in ${from ? `stage ${from.stage.name}` : 'the build context'}`);
    return [base];
  }
  const dir = dirname(base);
  const found = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => minimatch(n, posix.basename(src), { dot: true }))
        .map((n) => join(dir, n))
    : [];
  if (!found.length) throw new Error(`COPY ${src}: no file matches in ${from ? `stage ${from.stage.name}` : 'the build context'}`);
  return found;
}

/** RUN in /bin/sh (shell form) or directly (exec form); BuildKit's --mount/--network flags do not apply here. */
async function shell(args: string, run: StageRun, opts: RunStageOptions): Promise<void> {
  const { rest } = flagsAndRest(args);
  const argv = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : ['/bin/sh', '-c', rest];
  opts.log(`[${run.stage.name}] RUN ${rest}`);
  const started = Date.now();
  const result = await runProcess(argv, { cwd: run.hostPath('.'), env: { ...opts.hostEnv, ...run.env } });
  opts.log(`[${run.stage.name}]   ${result.code === 0 ? 'done' : `exit ${result.code}`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.code !== 0) throw new Error(`RUN ${rest}\nexit ${result.code}:\n${result.output}`);
}

export function runProcess(argv: string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new OutputTail();
    child.stdout.on('data', (d: Buffer) => out.add(d));
    child.stderr.on('data', (d: Buffer) => out.add(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: out.text() }));
  });
}

/** The last 64 KiB a process wrote, for failure messages. */
export class OutputTail {
  private buf = '';
  add(d: Buffer | string): void {
    this.buf = (this.buf + d.toString()).slice(-65_536);
  }
  text(): string {
    return this.buf;
  }
}
