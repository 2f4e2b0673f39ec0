// `npm run mosaic -- console-users add|list|remove` as a child process against a real console
// (real MongoDB-wire server): the admin token as bearer, a generated password that signs in,
// the last admin kept, exit codes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, dropTestDatabase, startTestService } from '@mosaic/shared-testing';
import { consoleDefinition } from '../../apps/console/src/console.definition';

jest.setTimeout(60_000);

const CLI = join(__dirname, 'mosaic.mjs');
let svc: StartedService;

beforeAll(async () => {
  svc = await startTestService(consoleDefinition, { env: { MOSAIC_INSTANCE_ID: 'console-cli-it', CONSOLE_INITIAL_ADMIN_PASSWORD: 'initial-admin-password' } });
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

function mosaic(args: string[], token = TEST_ADMIN_TOKEN): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'console-users', ...args, '--console', svc.http.url, '--token', token], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const signIn = (username: string, password: string) =>
  fetch(`${svc.http.url}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }) });

it('adds a user with a generated password that signs in, lists and removes it', async () => {
  const added = await mosaic(['add', 'ada', '--role', 'editor', '--json']);
  expect(added.code).toBe(0);
  const { username, role, password } = JSON.parse(added.stdout) as { username: string; role: string; password: string };
  expect([username, role, password.length]).toEqual(['ada', 'editor', 24]);
  expect((await signIn('ada', password)).status).toBe(200);

  const listed = await mosaic(['list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/^USERNAME +ROLE +CREATED\nada +editor +\S+\nadmin +admin +\S+\n$/);

  expect(await mosaic(['add', 'ada', '--role', 'viewer', '--password', 'another-password'])).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('user ada exists'),
  });
  expect(await mosaic(['remove', 'ada'])).toMatchObject({ code: 0, stdout: 'Removed ada\n' });
  expect((await signIn('ada', password)).status).toBe(401);
});

it('keeps the last admin, and says when the token is refused', async () => {
  expect(await mosaic(['remove', 'admin'])).toMatchObject({ code: 2, stderr: expect.stringContaining('last admin') });
  expect(await mosaic(['list'], 'not-the-admin-token-0000')).toMatchObject({ code: 2, stderr: expect.stringContaining('refused the admin token') });
  expect(await mosaic(['add', 'bob', '--role', 'root'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--role must be one of') });
});
