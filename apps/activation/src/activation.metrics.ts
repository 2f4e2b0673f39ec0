import { Counter, Gauge, Histogram, getOrCreate, type Registry } from '@mosaic/shared-logging';

/** The activation service's Prometheus metrics (next to the platform's Kafka and HTTP ones). */
export function activationMetrics(registry: Registry) {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    getOrCreate(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));
  return {
    fired: counter(
      'mosaic_activation_triggers_fired_total',
      'trigger firings by outcome: inserted (a new delivery), duplicate (a replayed change: nothing sent again), capped (frequency cap)',
      ['outcome'],
    ),
    attempts: counter('mosaic_activation_delivery_attempts_total', 'delivery attempts by destination and outcome (delivered, retry, fail)', [
      'destination',
      'outcome',
    ]),
    deliveriesExpired: counter(
      'mosaic_activation_deliveries_expired_total',
      'finished deliveries deleted by the retention sweep (ACTIVATION_DELIVERY_RETENTION_DAYS)',
    ),
    dead: counter('mosaic_activation_deliveries_dead_total', 'deliveries that exhausted their attempts or failed permanently (dead-lettered)', ['destination']),
    decisions: counter('mosaic_activation_decisions_total', 'decide requests answered, by visitor: known (a profile) or unknown (first-time: defaults)', [
      'outcome',
    ]),
    decisionCache: counter(
      'mosaic_activation_decision_cache_lookups_total',
      'profile lookups of the decision API: hit (in-process cache), miss (read through to MongoDB)',
      ['result'],
    ),
    decisionCacheEntries: getOrCreate(
      registry,
      'mosaic_activation_decision_cache_entries',
      () => new Gauge({ name: 'mosaic_activation_decision_cache_entries', help: 'profiles in the decision cache', registers: [registry] }),
    ),
    decisionFeedLag: getOrCreate(
      registry,
      'mosaic_activation_decision_feed_lag_seconds',
      () =>
        new Gauge({
          name: 'mosaic_activation_decision_feed_lag_seconds',
          help: 'how far the decision cache lags profiles.changes and segments.membership: now minus the newest record applied',
          registers: [registry],
        }),
    ),
    decideSeconds: getOrCreate(
      registry,
      'mosaic_activation_decide_seconds',
      () =>
        new Histogram({
          name: 'mosaic_activation_decide_seconds',
          help: 'time to answer a decide request (after the write-key check)',
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
          registers: [registry],
        }),
    ),
    inFlight: getOrCreate(
      registry,
      'mosaic_activation_deliveries_in_flight',
      () => new Gauge({ name: 'mosaic_activation_deliveries_in_flight', help: 'deliveries being sent', registers: [registry] }),
    ),
    attemptSeconds: getOrCreate(
      registry,
      'mosaic_activation_attempt_seconds',
      () =>
        new Histogram({
          name: 'mosaic_activation_attempt_seconds',
          help: 'duration of one delivery attempt',
          labelNames: ['destination'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    ),
  };
}

export type ActivationMetrics = ReturnType<typeof activationMetrics>;
