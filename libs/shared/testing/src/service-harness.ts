// Starts a real service (the same definition its main.ts runs) inside the test process,
// on a free port, against the test file's own database and topic prefix.
import { startService, type ServiceDefinition, type StartedService } from '@mosaic/shared-service';
import type { z } from '@mosaic/shared-config';
import { testInfra, type TestInfra } from './test-infra';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

import { TEST_PRODUCER_ACK_TIMEOUT_MS } from './wait-bounds';

export { PIPELINE_WAIT_MS, TEST_PRODUCER_ACK_TIMEOUT_MS } from './wait-bounds';

export function testServiceEnv(infra: TestInfra = testInfra(), env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    MOSAIC_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGODB_URI: infra.mongoUri,
    MOSAIC_TOPIC_PREFIX: infra.topicPrefix,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    KAFKA_TOPIC_PARTITIONS: '3',
    LOG_LEVEL: process.env.MOSAIC_TEST_LOG_LEVEL ?? 'silent',
    KAFKA_PRODUCER_ACK_TIMEOUT_MS: String(TEST_PRODUCER_ACK_TIMEOUT_MS),
    COLLECTOR_ACK_TIMEOUT_MS: String(TEST_PRODUCER_ACK_TIMEOUT_MS),
    ...env,
  };
}

export async function startTestService<E extends z.ZodRawShape>(
  def: ServiceDefinition<E>,
  opts: { env?: Record<string, string>; infra?: TestInfra } = {},
): Promise<StartedService> {
  return startService(def, { env: testServiceEnv(opts.infra, opts.env), port: 0 });
}

/** A JSON answer of a service, loosely typed for assertions. */
export interface JsonAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect answers as loose JSON
  json: Record<string, any>;
}

/**
 * One request to a service's admin API (Bearer `TEST_ADMIN_TOKEN` unless `auth: false`), JSON
 * body when given; the answer's status and parsed JSON (`{}` when empty).
 */
export async function adminRequest(baseUrl: string, method: string, path: string, body?: unknown, opts: { auth?: boolean } = {}): Promise<JsonAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(opts.auth === false ? {} : { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as JsonAnswer['json']) : {} };
}
