import { Counter, getOrCreate, type Registry } from '@mosaic/shared-logging';

/** The collector's Prometheus metrics (next to the platform's Kafka and HTTP ones). */
export function collectorMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    getOrCreate(registry, name, () => new Counter<L>({ name, help, labelNames, registers: [registry] }));
  return {
    events: counter('mosaic_collector_events_total', 'Events by route and outcome (accepted, duplicate, rejected)', ['route', 'outcome']),
    ingestRecords: counter(
      'mosaic_collector_ingest_records_total',
      'Records of events.ingest by source (sourceId, or "unknown" without a usable write key) and outcome (accepted, refused)',
      ['source', 'outcome'],
    ),
    rateLimited: counter('mosaic_collector_rate_limited_total', 'Requests answered 429 by route and limit (client_address, write_key)', ['route', 'limit']),
    email: counter('mosaic_collector_email_total', 'Email opens and clicks by outcome (recorded, duplicate, machine, invalid_token, inactive_source, failed)', [
      'kind',
      'outcome',
    ]),
  };
}

export type CollectorMetrics = ReturnType<typeof collectorMetrics>;
