// The report of the pipeline benchmark (bench-pipeline.mjs): its table and the lag series.
import { cpuLine } from './bench-cpu.mjs';
import { statementTimesLine, tableCountersLine } from './bench-store-tables.mjs';
import { hopsLine } from './bench-pipeline-hops.mjs';
import { STAGES } from './bench-pipeline-lag.mjs';

const ratio = (a, b) => (a && b ? +(a / b).toFixed(4) : null);

export function printReport(r, file, logs) {
  const { store, kafka, collectorAlone } = r.raw;
  const { load, endToEnd, stages, drained: done } = r.throughput;
  const lat = r.latency;
  const rows = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    [
      `load: events/s acked by the collector (${load.acked} events, ${load.requests} requests)`,
      load.ackedPerSec,
      `collector alone ${collectorAlone.eventsPerSec}/s`,
      ratio(load.ackedPerSec, collectorAlone.eventsPerSec),
    ],
    [
      `end to end: events/s, first send → activation consumed the last change${done ? '' : ' (NOT DRAINED)'}`,
      done ? endToEnd.eventsPerSec : `n/a (${stages['activation.changes'].messagesConsumed} changes consumed by activation in ${endToEnd.seconds} s)`,
      `store replaceOne ${store.pointWritesPerSec}/s; Kafka produce ${kafka.producer.eventsPerSec}/s`,
      `${ratio(endToEnd.eventsPerSec, store.pointWritesPerSec) ?? 'n/a'} / ${ratio(endToEnd.eventsPerSec, kafka.producer.eventsPerSec) ?? 'n/a'}`,
    ],
    ...Object.entries(stages).map(([key, s]) => [
      `stage ${key}: messages/s consumed (${s.messagesConsumed}, lag at end ${s.lagAtEnd})`,
      s.messagesPerSec,
      `Kafka consume ${kafka.consumer.eventsPerSec}/s`,
      ratio(s.messagesPerSec, kafka.consumer.eventsPerSec),
    ]),
    ...workRows(r.throughput.work, 'throughput phase'),
    [
      `CPU over the throughput phase by process (first send → drained), share of the machine's busy time`,
      cpuLine(r.throughput.cpu),
      r.throughput.cpu ? `machine busy ${r.throughput.cpu.machineBusySeconds} of ${r.throughput.cpu.capacitySeconds} core-seconds` : '',
      '',
    ],
    ...storeCounterRows(r.throughput),
    ...latencyRows(lat, collectorAlone),
    [
      `store alone: ${store.docBytes}-byte profile docs, ${store.documents} docs`,
      `insertMany ${store.insertManyDocsPerSec} docs/s, findOne ${store.pointReadsPerSec}/s, replaceOne ${store.pointWritesPerSec}/s`,
      '(4 in flight)',
      '',
    ],
    [`Kafka alone: ${kafka.producer.recordBytes}-byte records`, `produce ${kafka.producer.eventsPerSec}/s, consume ${kafka.consumer.eventsPerSec}/s`, '', ''],
    [
      'memory RSS peak / end, MB',
      Object.entries(r.memory ?? {})
        .map(([name, m]) => `${name} ${m.peakMb}/${m.endMb ?? '-'}`)
        .join(', '),
      `collector alone ${collectorAlone.rssMb}`,
      '',
    ],
  ];
  const mix = load.mix;
  const lines = [
    '',
    `pipeline benchmark (${r.machine.cores} cores, ${r.machine.mongo}, 1 instance per service, ${r.settings.partitions} partitions; ${r.settings.profiles} people; seeding: ${r.settings.seeding})`,
    ...(r.warm
      ? [
          `warm-up: ${r.warm.events} first events of ${r.warm.people} people drained in ${r.warm.seconds} s (${r.warm.eventsPerSec} events/s end to end, mostly profile creations)`,
        ]
      : []),
    ...(r.seed
      ? [
          `stored: ${r.seed.people} people's documents (${r.seed.copies} copies of the warm-up's: ${r.seed.documents} documents in ${r.seed.seconds} s, ${r.seed.docsPerSec}/s; ${Object.entries(
            r.seed.collections,
          )
            .map(([name, c]) => `${name} ${c.after}`)
            .join(', ')}; then compacted in ${r.seed.compactSeconds} s)`,
        ]
      : []),
    `mix: ${mix.events} events, ${mix.people} people seen, ${mix.otherDeviceLogins} logins on another device, ${mix.merges} merging logins, ${mix.emailClicks} email clicks, ${mix.pings} pings; ${load.rejected} rejected, ${load.duplicates} duplicates, ${load.failedRequests} failed requests`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    'consumer group lag (messages not yet consumed), sampled every second:',
    ...lagTable(r.lagSeries ?? []),
    '',
    `JSON: ${file}`,
    `service logs: ${logs}`,
    '',
  ];
  console.log(lines.join('\n'));
}

/** The latency phase's rows: the pings' latency, by hop, and what the stages, the machine and the store did meanwhile. */
function latencyRows(lat, collectorAlone) {
  return [
    lat.skipped
      ? ['latency: POST → segments.membership', `skipped: ${lat.skipped}`, '', '']
      : [
          `latency at ${lat.rate} events/s: POST → segments.membership (${lat.received}/${lat.pings} pings)`,
          `p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms`,
          `collector alone p50 ${collectorAlone.p50ms} ms (batch of ${collectorAlone.batch})`,
          '',
        ],
    ...(lat.hops
      ? [['latency by hop, p50/p99 (POST → events.raw → events.resolved → profiles.changes → segments.membership; pings)', hopsLine(lat.hops), '', '']]
      : []),
    ...workRows(lat.work, 'latency phase, until the last ping arrived'),
    ...(lat.cpu
      ? [
          [
            "CPU over the latency phase by process (first send → last ping), share of the machine's busy time",
            cpuLine(lat.cpu),
            `machine busy ${lat.cpu.machineBusySeconds} of ${lat.cpu.capacitySeconds} core-seconds`,
            '',
          ],
        ]
      : []),
    ...(lat.statements !== undefined
      ? [
          [
            "PostgreSQL's statements over the latency phase by kind and collection, most frequent first (pg_stat_statements)",
            statementTimesLine(lat.statements, { events: lat.eventsAcked, top: 10, by: 'calls' }),
            '',
            '',
          ],
        ]
      : []),
  ];
}

/** What PostgreSQL counted over the throughput phase: per collection, and per statement kind and collection. */
function storeCounterRows(throughput) {
  return [
    ['the store over the throughput phase, as PostgreSQL counted it (per collection)', tableCountersLine(throughput.tables), '', ''],
    [
      "PostgreSQL's execution time over the throughput phase by statement kind and collection (pg_stat_statements)",
      statementTimesLine(throughput.statements, { events: throughput.load.acked }),
      '',
      '',
    ],
  ];
}

/** A row per stage: its Kafka batches and store commands over a phase (periodic tasks included). */
function workRows(work, phase) {
  return Object.entries(work ?? {}).map(([name, w]) => [
    `${name}: Kafka batches, messages per batch; store commands per batch / per message (${phase}, periodic tasks included)`,
    `${w.batches} batches, ${w.messagesPerBatch} msg/batch; ${w.storeCommands} commands: ${w.storeCommandsPerBatch} / ${w.storeCommandsPerMessage}; produced ${w.produced} in ${w.produceBatches} sends`,
    '',
    '',
  ]);
}

/** At most ~20 rows of the lag series (evenly spaced, the last always kept). */
function lagTable(series) {
  if (series.length === 0) return ['(no samples)'];
  const keys = STAGES.map((s) => s.key);
  const step = Math.max(1, Math.ceil(series.length / 20));
  const picked = series.filter((_, i) => i % step === 0 || i === series.length - 1);
  const head = ['t(s)', ...keys].map((k) => k.padStart(k === 't(s)' ? 7 : k.length + 2)).join('');
  return [head, ...picked.map((row) => [String(row.s).padStart(7), ...keys.map((k) => String(row[k]).padStart(k.length + 2))].join(''))];
}

/** Each service's resident memory, peak and now (null once it exited), from the run's samplers. */
export function memoryOf(rss, services) {
  return Object.fromEntries(
    services.map((name) => {
      const sampler = rss.get(name);
      return [name, { peakMb: sampler?.peakMb ?? 0, endMb: sampler?.now() ?? null }];
    }),
  );
}
