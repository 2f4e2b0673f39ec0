import { boolVar, intVar, z } from '@mosaic/shared-config';

/** The collector's own environment variables (the common ones are in @mosaic/shared-config). */
export const collectorEnvSchema = z.object({
  COLLECTOR_ACK_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  COLLECTOR_DEDUP_WINDOW_SECONDS: intVar(86_400, 0, 30 * 86_400),
  COLLECTOR_DEDUP_MAX_ENTRIES: intVar(200_000, 0, 50_000_000),
  COLLECTOR_WRITE_KEY_CACHE_SECONDS: intVar(30, 0, 3_600),
  /** `false`, `true`, a hop count, or a comma list of proxy addresses/CIDRs. */
  COLLECTOR_TRUST_PROXY: z.string().default('false'),
  COLLECTOR_CORS: boolVar(true),
});

export type CollectorEnv = z.infer<typeof collectorEnvSchema>;

/** Fastify's `trustProxy` from the setting. */
export function trustProxySetting(v: string): boolean | number | string[] {
  const t = v.trim().toLowerCase();
  if (t === 'false' || t === '' || t === '0') return false;
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) return Number(t);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
