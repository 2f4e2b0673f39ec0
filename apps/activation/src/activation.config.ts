import { OutboundAllowList } from '@mosaic/activation-domain';
import { trustProxyVar, z } from '@mosaic/shared-config';

/** The activation service's own environment variables (the common ones are in @mosaic/shared-config). */
export const activationEnvSchema = z.object({
  /** How often an instance looks for due deliveries of the partitions it owns (ms). */
  ACTIVATION_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(20).max(60_000).default(250),
  /** Deliveries read per dispatch round, shared among the enabled destinations (each reads at least its concurrency). */
  ACTIVATION_DISPATCH_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  /**
   * How long an instance's claim on a delivery it is sending holds (s): longer than any send can
   * take (a webhook's timeoutMs is at most 120 s). Another instance sends a delivery whose owner
   * crashed mid-send once it ends.
   */
  ACTIVATION_DELIVERY_LEASE_SECONDS: z.coerce.number().int().min(130).max(86_400).default(300),
  /** Attempts of a delivery before it is dead (and dead-lettered). */
  ACTIVATION_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** First retry back-off ceiling (ms); doubles per attempt, full jitter. */
  ACTIVATION_RETRY_BASE_MS: z.coerce.number().int().min(1).default(5_000),
  /** Largest back-off (ms). */
  ACTIVATION_RETRY_MAX_MS: z.coerce.number().int().min(1).default(3_600_000),
  /**
   * Days a finished delivery (delivered, dead, skipped) stays in the delivery log. While it is kept,
   * frequency caps count it and a membership change replayed from Kafka finds it and sends nothing
   * again: keep it longer than the longest cap window and than segments.membership's retention.
   */
  ACTIVATION_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
  /** How often an instance deletes finished deliveries past their retention (the TTL index does it on MongoDB); 0 disables. */
  ACTIVATION_SWEEP_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(300),
  /** How soon destinations and triggers changed through another instance are used (ms). */
  ACTIVATION_CONFIG_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** Profiles held by each instance's decision cache. */
  ACTIVATION_DECISION_CACHE_ENTRIES: z.coerce.number().int().min(1).default(100_000),
  /** Decision API calls a second per write (or server) key, per instance; refills continuously. */
  ACTIVATION_DECIDE_RATE_PER_KEY: z.coerce.number().positive().max(1_000_000).default(2000),
  /** Calls a key may make at once before the rate applies (default: two seconds' worth). */
  ACTIVATION_DECIDE_BURST_PER_KEY: z.coerce.number().int().min(1).max(10_000_000).optional(),
  /** Decision API calls a second per client address, per instance. */
  ACTIVATION_DECIDE_RATE_PER_IP: z.coerce.number().positive().max(1_000_000).default(50),
  /** Calls a client address may make at once (default: two seconds' worth). */
  ACTIVATION_DECIDE_BURST_PER_IP: z.coerce.number().int().min(1).max(10_000_000).optional(),
  /** Whose `X-Forwarded-For` gives the client address: `false`, `true`, a hop count, or a comma list of proxy addresses/CIDRs (as COLLECTOR_TRUST_PROXY). */
  ACTIVATION_TRUST_PROXY: trustProxyVar(),
  /** The collector whose signed email tracking rewrites email links and adds the open pixel (`POST /v1/email/rewrite`, admin token). */
  ACTIVATION_COLLECTOR_URL: z
    .string()
    .url('must be an http or https URL')
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .default('http://127.0.0.1:8080'),
  /** The collector source email opens and clicks are recorded under; unset: emails are sent without link tracking. */
  ACTIVATION_EMAIL_SOURCE_ID: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().trim().max(256).optional()),
  /**
   * Exceptions to "webhooks and SMTP reach public addresses only": comma-separated host names,
   * IP addresses and CIDR ranges (`127.0.0.1/32,::1,hooks.internal.example.com`). Empty: none.
   */
  ACTIVATION_OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const r = OutboundAllowList.parse(text);
      if (r.ok) return r.value;
      for (const message of r.errors) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
      return z.NEVER;
    }),
});

export type ActivationEnv = z.infer<typeof activationEnvSchema>;
