// One-shot topic provisioning (the Kubernetes topics Job, docker compose's `topics`):
// creates every topic of the contracts with the configured prefix, partitions, replication
// factor and policies, then exits. Idempotent.
import { TOPIC_SPECS, type TopicKey } from '@mosaic/contracts';
import { loadConfig } from '@mosaic/shared-config';
import { TopicProvisioner, createKafkaClient } from '@mosaic/shared-kafka';
import { createLogger } from '@mosaic/shared-logging';

async function main(): Promise<void> {
  const config = loadConfig('collector');
  const logger = createLogger({ service: 'topics', level: config.logLevel });
  const kafka = createKafkaClient(config.kafka, logger);
  const report = await new TopicProvisioner(kafka, config.kafka, logger).ensure(Object.keys(TOPIC_SPECS) as TopicKey[]);
  logger.info({ topics: report }, 'topics provisioned');
  logger.flush();
}

main().then(
  () => setTimeout(() => process.exit(0), 100),
  (err: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'topics', msg: 'provisioning failed', err: String((err as Error)?.stack ?? err) })}\n`);
    process.exit(1);
  },
);
