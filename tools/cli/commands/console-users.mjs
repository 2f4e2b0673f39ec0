// `mosaic console-users add | list | remove`: the console's users, through the console's
// /api/users with the admin token (the console accepts it as an admin).
import { randomBytes } from 'node:crypto';
import { FatalError, UsageError, adminApiClient, errorText } from './shared.mjs';

const ROLES = ['viewer', 'editor', 'admin'];

function consoleClient(opts) {
  return adminApiClient(opts, { option: 'console', envVar: 'MOSAIC_CONSOLE_URL', defaultUrl: 'http://127.0.0.1:8090', who: 'the console' });
}

function args(opts, count, usage) {
  const rest = opts.positional.slice(2);
  if (rest.length !== count) throw new UsageError(`usage: npm run mosaic -- ${usage}`);
  return rest;
}

async function add(opts) {
  const [username] = args(opts, 1, 'console-users add <username> --role viewer|editor|admin [--password <p>]');
  if (!ROLES.includes(opts.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  // Without --password: a generated one, shown once.
  const password = opts.password ?? randomBytes(18).toString('base64url');
  const api = consoleClient(opts);
  const r = await api.call('POST', '/api/users', { username, password, role: opts.role }, 'creating the user');
  if (r.status !== 201) throw new FatalError(`${errorText(r)} (HTTP ${r.status})`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...r.json, ...(opts.password ? {} : { password }) })}\n`);
  else process.stdout.write(`Created ${r.json.username} (${r.json.role})${opts.password ? '' : `, password: ${password}`}\n`);
  return 0;
}

async function list(opts) {
  args(opts, 0, 'console-users list');
  const api = consoleClient(opts);
  const r = await api.call('GET', '/api/users', undefined, 'listing users');
  if (r.status !== 200 || !Array.isArray(r.json?.users)) throw new FatalError(`${errorText(r)} (HTTP ${r.status})`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ users: r.json.users })}\n`);
  else {
    const width = Math.max(8, ...r.json.users.map((u) => u.username.length));
    const lines = [
      `${'USERNAME'.padEnd(width)}  ROLE    CREATED`,
      ...r.json.users.map((u) => `${u.username.padEnd(width)}  ${u.role.padEnd(6)}  ${u.createdAt}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

async function remove(opts) {
  const [username] = args(opts, 1, 'console-users remove <username>');
  const api = consoleClient(opts);
  const r = await api.call('DELETE', `/api/users/${encodeURIComponent(username)}`, undefined, 'removing the user');
  if (r.status !== 204) throw new FatalError(`${errorText(r)} (HTTP ${r.status})`);
  if (!opts.json) process.stdout.write(`Removed ${username}\n`);
  return 0;
}

export async function consoleUsersCommand(opts) {
  const sub = opts.positional[1];
  if (sub === 'add') return add(opts);
  if (sub === 'list') return list(opts);
  if (sub === 'remove') return remove(opts);
  throw new UsageError(sub ? `unknown console-users command "${sub}" (available: add, list, remove)` : 'console-users needs a command: add, list or remove');
}
