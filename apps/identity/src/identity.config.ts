import { intVar, z } from '@mosaic/shared-config';

/** The identity service's own environment variables (the common ones are in @mosaic/shared-config). */
export const identityEnvSchema = z.object({
  /** Identity documents (pointers) kept in the per-instance LRU; 0 disables the cache. */
  IDENTITY_CACHE_MAX_ENTRIES: intVar(200_000, 0, 50_000_000),
  /** Identity profiles kept in the per-instance LRU (kept honest by identity.profile-writes); 0 disables the cache. */
  IDENTITY_PROFILE_CACHE_MAX_ENTRIES: intVar(100_000, 0, 10_000_000),
  /** Longest life of a cached profile: how long a profile change whose announcement was lost (its writer died first) can go unseen. */
  IDENTITY_PROFILE_CACHE_TTL_SECONDS: intVar(300, 1, 86_400),
  /** How often every instance deletes expired redirects and processed records; 0 disables the sweep. */
  IDENTITY_SWEEP_INTERVAL_SECONDS: intVar(300, 0, 7 * 86_400),
  /** How long a message's processed record is kept (replays of events.raw older than this re-plan). */
  IDENTITY_PROCESSED_TTL_DAYS: intVar(30, 1, 3_650),
  /** How often an instance checks for rules changed through another instance's admin API. */
  IDENTITY_RULES_REFRESH_SECONDS: intVar(10, 1, 3_600),
  /** Plan/apply attempts per message before it fails (then retries, then the DLQ). */
  IDENTITY_MAX_ATTEMPTS: intVar(10, 1, 1_000),
  /** Compare-and-set: `auto` (native on MongoDB; on FerretDB guarded where the store's guard answers, else ticket), `native`, `guarded`, `ticket` (see docs/identity.md). */
  IDENTITY_STORE_CAS: z.enum(['auto', 'native', 'guarded', 'ticket']).default('auto'),
  /** Ticket mode: a ticket older than this whose write never happened is completed by the next writer. */
  IDENTITY_TICKET_LEASE_MS: intVar(3_000, 100, 600_000),
});

export type IdentityEnv = z.infer<typeof identityEnvSchema>;
