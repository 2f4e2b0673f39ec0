#!/usr/bin/env node
// `npm run mosaic -- <command>`: the Mosaic command line. Plain Node (no build step; the one
// dependency is js-yaml, loaded only for YAML segment files); it talks to the services over
// HTTP only.
//
//   mosaic import <file> --source <name-or-id> [options]
//   mosaic segments apply <dir> [options]
//   mosaic segments list [options]
//   mosaic console-users add <username> --role <role> [--password <p>] | list | remove <username>
//
// Exit codes of import: 0 done, every row accepted (duplicates of an earlier import count as
// done); 1 done, but some rows were rejected (listed in the summary); 2 not done: bad usage,
// authentication, unknown source, collector unreachable or failing after retries.
// Exit codes of segments apply: 0 applied (and backfilled); 1 some writes or backfills failed;
// 2 nothing done: bad usage, invalid definitions, authentication, service unreachable.
// Exit codes of console-users: 0 done; 2 not done (usage, refused, console unreachable).
//
// The commands live in commands/: import.mjs (+ import-rows.mjs), segments.mjs (+
// segments-apply.mjs, segmentation-client.mjs), console-users.mjs; help.mjs holds the help texts, shared.mjs
// what they share. Pure logic is in import-lib.js and segments-lib.js (tested with Jest).
import { CONSOLE_USERS_HELP, HELP, IMPORT_HELP, SEGMENTS_HELP } from './commands/help.mjs';
import { FatalError, UsageError } from './commands/shared.mjs';
import { importCommand } from './commands/import.mjs';
import { segmentsCommand } from './commands/segments.mjs';
import { consoleUsersCommand } from './commands/console-users.mjs';

const COMMAND_OPTIONS = {
  import: [
    'source',
    'create-source',
    'write-key',
    'collector',
    'token',
    'format',
    'type',
    'event',
    'map',
    'delimiter',
    'concurrency',
    'gzip',
    'chunk-bytes',
    'show-rejected',
    'json',
    'quiet',
    'help',
  ],
  segments: ['segmentation', 'token', 'dry-run', 'prune', 'no-wait', 'timeout', 'json', 'quiet', 'help'],
  'console-users': ['console', 'token', 'role', 'password', 'json', 'help'],
};

function parseArgs(argv) {
  const opts = { maps: {}, positional: [], given: new Set() };
  const flags = new Set(['create-source', 'gzip', 'json', 'quiet', 'help', 'dry-run', 'prune', 'no-wait']);
  const valued = new Set([
    'source',
    'write-key',
    'collector',
    'token',
    'format',
    'type',
    'event',
    'map',
    'delimiter',
    'concurrency',
    'show-rejected',
    'chunk-bytes',
    'segmentation',
    'timeout',
    'console',
    'role',
    'password',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      opts.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      opts.positional.push(a);
      continue;
    }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2);
    opts.given.add(name);
    if (flags.has(name)) {
      opts[name] = true;
      continue;
    }
    if (!valued.has(name)) throw new UsageError(`unknown option --${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (name === 'map') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new UsageError(`--map takes column=target, got "${value}"`);
      opts.maps[value.slice(0, eq).trim()] = value.slice(eq + 1);
    } else opts[name] = value;
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`mosaic: ${err.message}\n\n${HELP}\n`);
    return 2;
  }
  const command = opts.positional[0];
  const helpOf = { import: IMPORT_HELP, segments: SEGMENTS_HELP, 'console-users': CONSOLE_USERS_HELP };
  if (opts.help || !command || command === 'help') {
    const topic = command === 'help' ? opts.positional[1] : command;
    process.stdout.write(`${helpOf[topic] ?? HELP}\n`);
    return command || opts.help ? 0 : 2;
  }
  try {
    if (!Object.hasOwn(COMMAND_OPTIONS, command)) throw new UsageError(`unknown command "${command}" (available: import, segments, console-users)`);
    const foreign = [...opts.given].filter((name) => !COMMAND_OPTIONS[command].includes(name));
    if (foreign.length) throw new UsageError(`${foreign.map((f) => `--${f}`).join(', ')}: not an option of ${command} (npm run mosaic -- ${command} --help)`);
    if (command === 'import') return await importCommand(opts);
    if (command === 'console-users') return await consoleUsersCommand(opts);
    return await segmentsCommand(opts);
  } catch (err) {
    const what = command === 'segments' || command === 'console-users' ? `${command} ${opts.positional[1] ?? ''}`.trim() : command;
    if (err instanceof UsageError) process.stderr.write(`mosaic: ${err.message}\n`);
    else if (err instanceof FatalError) process.stderr.write(`mosaic: ${what} failed: ${err.message}\n`);
    else process.stderr.write(`mosaic: ${err.stack ?? err}\n`);
    return 2;
  }
}

process.exitCode = await main();
