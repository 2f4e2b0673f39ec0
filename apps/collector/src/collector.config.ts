import { ConfigError, boolVar, intVar, trustProxyVar, z, type CommonConfig } from '@mosaic/shared-config';
import { MAX_BATCH_ITEMS, deriveDevSigningKey, parseSigningKeys, type IngestRateLimitOptions, type SigningKey } from '@mosaic/collector-domain';

/** The collector's own environment variables (the common ones are in @mosaic/shared-config). */
export const collectorEnvSchema = z.object({
  COLLECTOR_ACK_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  COLLECTOR_DEDUP_WINDOW_SECONDS: intVar(86_400, 0, 30 * 86_400),
  COLLECTOR_DEDUP_MAX_ENTRIES: intVar(200_000, 0, 50_000_000),
  COLLECTOR_WRITE_KEY_CACHE_SECONDS: intVar(30, 0, 3_600),
  /** `false`, `true`, a hop count, or a comma list of proxy addresses/CIDRs (the client address of `context.ip` and of the rate limit). */
  COLLECTOR_TRUST_PROXY: trustProxyVar(),
  /** Events a second per write key (its source), per instance, on the tracking routes; 0 = no limit. */
  COLLECTOR_RATE_PER_KEY: z.coerce.number().min(0).max(1_000_000).default(20_000),
  /** Events a write key may send at once (default two seconds' worth); at least a full batch. */
  COLLECTOR_BURST_PER_KEY: z.coerce.number().int().min(MAX_BATCH_ITEMS).max(100_000_000).optional(),
  /** Requests a second per client address, per instance, on the tracking routes and /v1/import; 0 = no limit. */
  COLLECTOR_RATE_PER_IP: z.coerce.number().min(0).max(1_000_000).default(1_000),
  /** Requests a client address may make at once (default two seconds' worth). */
  COLLECTOR_BURST_PER_IP: z.coerce.number().int().min(1).max(100_000_000).optional(),
  COLLECTOR_CORS: boolVar(true),
  /** Consume `events.ingest` (Segment JSON from any Kafka producer, see docs/contracts.md). */
  COLLECTOR_KAFKA_INGEST: boolVar(true),
  /** Email tracking: `kid:secret,...` (first signs, all verify; secrets ≥ 32 bytes). Required when NODE_ENV=production. */
  COLLECTOR_EMAIL_SIGNING_KEYS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined || v.trim() === '') return;
      const parsed = parseSigningKeys(v);
      if (!parsed.ok) for (const p of parsed.problems) ctx.addIssue({ code: z.ZodIssueCode.custom, message: p });
    }),
  /** Default lifetime of email links and pixels, in days. */
  COLLECTOR_EMAIL_TOKEN_TTL_DAYS: intVar(365, 1, 3_650),
  /** Opens and clicks within this many seconds of the email's rendering are flagged as machine activity. */
  COLLECTOR_EMAIL_MACHINE_SECONDS: intVar(5, 0, 3_600),
  /** Public base URL of the collector for rewritten links (default: the rewrite request's own origin). */
  COLLECTOR_PUBLIC_URL: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
    .optional(),
});

export type CollectorEnv = z.infer<typeof collectorEnvSchema>;

export { trustProxySetting } from '@mosaic/shared-config';

/** The ingestion rate limits from the configuration: bursts default to two seconds' worth (per key, at least a full batch). */
export function ingestRateLimits(own: CollectorEnv): IngestRateLimitOptions {
  const twoSeconds = (rate: number, min: number) => Math.max(min, Math.ceil(2 * rate));
  return {
    perKey: { ratePerSecond: own.COLLECTOR_RATE_PER_KEY, burst: own.COLLECTOR_BURST_PER_KEY ?? twoSeconds(own.COLLECTOR_RATE_PER_KEY, MAX_BATCH_ITEMS) },
    perAddress: { ratePerSecond: own.COLLECTOR_RATE_PER_IP, burst: own.COLLECTOR_BURST_PER_IP ?? twoSeconds(own.COLLECTOR_RATE_PER_IP, 1) },
  };
}

/**
 * The email signing keys: `COLLECTOR_EMAIL_SIGNING_KEYS`, or — outside production only — a
 * key derived from the admin token (with a warning to log). Production without keys is a
 * configuration error.
 */
export function emailSigningKeys(config: Pick<CommonConfig, 'env' | 'adminToken'> & { own: Pick<CollectorEnv, 'COLLECTOR_EMAIL_SIGNING_KEYS'> }): {
  keys: SigningKey[];
  warning?: string;
} {
  const spec = config.own.COLLECTOR_EMAIL_SIGNING_KEYS;
  if (spec !== undefined && spec.trim() !== '') {
    const parsed = parseSigningKeys(spec);
    if (!parsed.ok) throw new ConfigError(parsed.problems.map((p) => `COLLECTOR_EMAIL_SIGNING_KEYS: ${p}`));
    return { keys: parsed.keys };
  }
  if (config.env === 'production') {
    throw new ConfigError(['COLLECTOR_EMAIL_SIGNING_KEYS: required when NODE_ENV=production (comma list of kid:secret, secrets of at least 32 bytes)']);
  }
  return {
    keys: [deriveDevSigningKey(config.adminToken)],
    warning:
      'COLLECTOR_EMAIL_SIGNING_KEYS is not set: email links are signed with a key derived from MOSAIC_ADMIN_TOKEN (development only; set it in production)',
  };
}
