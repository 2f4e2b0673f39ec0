/**
 * Prometheus metrics of the store client: every command the driver sends (its command
 * monitoring), so the store's cost per Kafka batch can be read off a running service
 * (`mosaic_mongo_commands_total` ÷ `mosaic_kafka_consumed_messages_total`).
 */
import type { Connection } from 'mongoose';
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent } from 'mongodb';
import { Counter, Histogram, type Registry, getOrCreate } from '@mosaic/shared-logging';

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The driver's connection handshake and monitoring: not the service's work. */
const CONNECTION_COMMANDS = new Set(['hello', 'ismaster', 'ping', 'buildinfo', 'endsessions', 'saslstart', 'saslcontinue']);

interface StoreMetrics {
  commands: Counter<'command' | 'collection'>;
  duration: Histogram<'command'>;
}

function storeMetrics(registry: Registry): StoreMetrics {
  const r = [registry];
  return {
    commands: getOrCreate(
      registry,
      'mosaic_mongo_commands_total',
      () =>
        new Counter({
          name: 'mosaic_mongo_commands_total',
          help: 'Commands (round trips) sent to MongoDB, by command and collection; connection handshakes and pings not counted',
          labelNames: ['command', 'collection'],
          registers: r,
        }),
    ),
    duration: getOrCreate(
      registry,
      'mosaic_mongo_command_seconds',
      () =>
        new Histogram({
          name: 'mosaic_mongo_command_seconds',
          help: 'Time from sending a MongoDB command to its reply, by command',
          labelNames: ['command'],
          buckets: DURATION_BUCKETS,
          registers: r,
        }),
    ),
  };
}

/** The collection a command names (`{find: "x"}`, `{getMore: id, collection: "x"}`), else "". */
export function commandCollection(commandName: string, command: Record<string, unknown>): string {
  const named = command[commandName];
  if (typeof named === 'string') return named;
  return typeof command['collection'] === 'string' ? command['collection'] : '';
}

const counted = (commandName: string) => !CONNECTION_COMMANDS.has(commandName.toLowerCase());

/** Counts the connection's commands into `registry` (the connection must be opened with `monitorCommands`). */
export function monitorStoreCommands(conn: Connection, registry: Registry): void {
  const m = storeMetrics(registry);
  const client = conn.getClient();
  client.on('commandStarted', (e: CommandStartedEvent) => {
    if (counted(e.commandName)) m.commands.inc({ command: e.commandName, collection: commandCollection(e.commandName, e.command) });
  });
  const finished = (e: CommandSucceededEvent | CommandFailedEvent) => {
    if (counted(e.commandName)) m.duration.observe({ command: e.commandName }, e.duration / 1000);
  };
  client.on('commandSucceeded', finished);
  client.on('commandFailed', finished);
}
