/**
 * The shop's write key: DEMO_SHOP_WRITE_KEY; else the one saved in the key file by an earlier
 * run (checked against the collector's source list when the admin token is known, since the
 * database may have been reset); else a new "demo-shop" source created through the
 * collector's admin API with the admin token, its key saved in the file. With the admin token,
 * the source also allows the shop's own origins, so that its pages may call the decision API.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface WriteKeySettings {
  writeKey?: string;
  writeKeyFile: string;
  collectorUrl: string;
  adminToken?: string;
  sourceName: string;
  /** Origins the shop's pages are served from (`http://127.0.0.1:8091`): the source must allow them. */
  siteOrigins?: string[];
}

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** fetch with retries while the collector is starting (connection refused, 503). */
async function call(url: string, init: RequestInit, deadline: number, log: Log): Promise<Response> {
  let warned = false;
  for (;;) {
    try {
      const res = await fetch(url, init);
      if (res.status !== 503) return res;
      await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the collector at ${url} did not answer: ${(err as Error).message}`);
    }
    if (Date.now() > deadline) throw new Error(`the collector at ${url} is not ready`);
    if (!warned) log('waiting for the collector', { url });
    warned = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function resolveWriteKey(s: WriteKeySettings, log: Log, waitMs = 120_000): Promise<string> {
  if (s.writeKey) return s.writeKey;
  const deadline = Date.now() + waitMs;
  const admin = { Authorization: `Bearer ${s.adminToken}`, 'Content-Type': 'application/json' };
  const saved = existsSync(s.writeKeyFile) ? readFileSync(s.writeKeyFile, 'utf8').trim() : '';
  if (saved && !s.adminToken) return saved;
  if (!s.adminToken)
    throw new Error(`no write key: set DEMO_SHOP_WRITE_KEY, or MOSAIC_ADMIN_TOKEN so that the shop creates its source (key saved in ${s.writeKeyFile})`);
  if (saved) {
    const res = await call(`${s.collectorUrl}/v1/sources`, { headers: admin }, deadline, log);
    if (!res.ok) throw new Error(`GET /v1/sources answered ${res.status}: ${await res.text()}`);
    const { sources } = (await res.json()) as { sources: { id: string; writeKeyPrefix: string; revokedAt: string | null; allowedOrigins?: string[] }[] };
    const known = sources.find((x) => x.writeKeyPrefix === saved.slice(0, x.writeKeyPrefix.length) && !x.revokedAt);
    if (known) {
      await allowSiteOrigins(s, known, admin, deadline, log);
      return saved;
    }
    log('the saved demo shop write key is not known to the collector (new database?): creating a new source', { file: s.writeKeyFile });
  }
  const res = await call(
    `${s.collectorUrl}/v1/sources`,
    { method: 'POST', headers: admin, body: JSON.stringify({ name: s.sourceName, allowedOrigins: s.siteOrigins ?? [] }) },
    deadline,
    log,
  );
  if (res.status !== 201) throw new Error(`creating the ${s.sourceName} source failed: ${res.status} ${await res.text()}`);
  const { writeKey, id } = (await res.json()) as { writeKey: string; id: string };
  mkdirSync(dirname(s.writeKeyFile), { recursive: true });
  writeFileSync(s.writeKeyFile, `${writeKey}\n`, { mode: 0o600 });
  log('created the demo shop source', { sourceId: id, name: s.sourceName, file: s.writeKeyFile });
  return writeKey;
}

/** Adds the shop's origins to a source created by an earlier run (or before sources had origins). */
async function allowSiteOrigins(
  s: WriteKeySettings,
  source: { id: string; allowedOrigins?: string[] },
  admin: Record<string, string>,
  deadline: number,
  log: Log,
): Promise<void> {
  const held = source.allowedOrigins ?? [];
  const missing = (s.siteOrigins ?? []).filter((o) => !held.includes(o));
  if (missing.length === 0) return;
  const res = await call(
    `${s.collectorUrl}/v1/sources/${source.id}`,
    { method: 'PATCH', headers: admin, body: JSON.stringify({ allowedOrigins: [...held, ...missing] }) },
    deadline,
    log,
  );
  if (!res.ok) throw new Error(`allowing the shop's origins on source ${source.id} failed: ${res.status} ${await res.text()}`);
  log("allowed the shop's origins on its source", { sourceId: source.id, origins: missing });
}
