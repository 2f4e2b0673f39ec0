/**
 * A private single-node KRaft broker that only speaks SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256 and
 * PLAIN, client certificates required), for tests of Mosaic's Kafka security settings. A
 * throw-away CA signs the broker's certificate (127.0.0.1/localhost) and one client
 * certificate. The jars, the JVM and the config layout come from tools/infra/kafka.js; only
 * the listeners and the format step (SCRAM users) differ from the project's broker.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, type KafkaConfig } from '@mosaic/shared-config';
import { createLogger } from '@mosaic/shared-logging';
import { createKafkaClient } from '../client';

// tools/infra is plain CommonJS outside the Nx projects; these are the parts used here.
interface KafkaLayout {
  dir: string;
  configPath: string;
  log4jPath: string;
  logFile: string;
}
interface InfraKafka {
  ensureJava(): Promise<string>;
  ensureKafkaJars(opts?: { log?: (line: string) => void }): Promise<string>;
  writeKafkaConfig(p: { dir: string; port: number; controllerPort: number; logFile: string }): KafkaLayout;
  kafkaMarkers(layout: KafkaLayout): string[];
  spawnKafka(java: string, libs: string, layout: KafkaLayout, opts: { detached: false; heap: [string, string]; header: string }): ChildProcess;
}
interface InfraUtil {
  freePort(): Promise<number>;
  run(cmd: string, args: string[], opts: { logFile?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  waitUntilAnswers(p: {
    name: string;
    check: () => Promise<{ ok: boolean; error?: string }>;
    timeoutMs: number;
    logFile: string;
    child: ChildProcess;
    pid: number;
  }): Promise<number>;
  pidMatches(pid: number, markers: string[]): boolean;
  processCmdline(pid: number): string | null;
  sleep(ms: number): Promise<void>;
}
/* eslint-disable @typescript-eslint/no-require-imports, @nx/enforce-module-boundaries -- not an Nx project */
const infraKafka: InfraKafka = require('../../../../../tools/infra/kafka.js');
const infraUtil: InfraUtil = require('../../../../../tools/infra/util.js');
/* eslint-enable @typescript-eslint/no-require-imports, @nx/enforce-module-boundaries */

const execFileAsync = promisify(execFile);

export interface SecuredBrokerUser {
  name: string;
  password: string;
}

export interface SecuredBroker {
  brokers: string[];
  /** PEM files: the CA that signed the broker's and the client's certificates, the client's certificate and key. */
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** SCRAM (both SHA variants) and PLAIN user, a super user. */
  user: SecuredBrokerUser;
  dir: string;
  logFile: string;
  pid: number;
  /** SIGKILL (by PID, after checking it is this broker) and remove the temp dir. Idempotent. */
  destroy(): Promise<void>;
}

const OPENSSL = '/usr/bin/openssl';

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await execFileAsync(OPENSSL, args, { cwd: dir });
}

/** CA, a server certificate for 127.0.0.1/localhost and a client certificate, all in `dir`. */
async function writeCertificates(dir: string): Promise<void> {
  await openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=mosaic-test-ca');
  const leaf = async (name: string, subject: string, ext: string): Promise<void> => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    await openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
    await openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  await leaf('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await leaf('client', '/CN=mosaic-test-client', 'extendedKeyUsage=clientAuth\n');
}

function listenerProps(dir: string, port: number, controllerPort: number, admin: SecuredBrokerUser, user: SecuredBrokerUser): string {
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${admin.name}" password="${admin.password}";`;
  const plain =
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="${admin.name}" password="${admin.password}" ` +
    `user_${admin.name}="${admin.password}" user_${user.name}="${user.password}";`;
  return [
    '',
    '# Secured broker (libs/shared/kafka/src/testing/secured-broker.ts): later keys override the ones above.',
    `listeners=SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=SASL_SSL://127.0.0.1:${port}`,
    'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=SASL_SSL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
    `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
    `listener.name.sasl_ssl.plain.sasl.jaas.config=${plain}`,
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${join(dir, 'server-keystore.pem')}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(dir, 'ca.pem')}`,
    // A client must present a certificate signed by the CA: proves KAFKA_SSL_CERT_FILE/KEY_FILE are sent.
    // On a SASL_SSL listener only the listener-prefixed setting counts (KIP-684).
    'listener.name.sasl_ssl.ssl.client.auth=required',
    // No authorizer is configured, so no ACLs apply; super.users documents who the broker trusts if one is added.
    `super.users=User:${admin.name};User:${user.name}`,
    '',
  ].join('\n');
}

/** Formats the KRaft storage with the SCRAM credentials (they live in the cluster metadata). */
async function formatWithScram(java: string, libs: string, layout: KafkaLayout, users: SecuredBrokerUser[]): Promise<void> {
  const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
  const scram = users.flatMap((u) => ['SCRAM-SHA-512', 'SCRAM-SHA-256'].flatMap((m) => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]));
  const args = [
    '-Xmx256m',
    `-Dlog4j2.configurationFile=${layout.log4jPath}`,
    '-cp',
    `${libs}/*`,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    layout.configPath,
    ...scram,
  ];
  const r = await infraUtil.run(java, args, { logFile: layout.logFile, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`formatting the secured broker's storage failed (exit code ${r.code}). Log: ${layout.logFile}\n${r.stdout}${r.stderr}`);
}

/**
 * The environment a Mosaic service would be given for this broker (SCRAM-SHA-512, the CA, the
 * client certificate); `overrides` replace or, with undefined, remove variables.
 */
export function securedBrokerEnv(broker: SecuredBroker, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: broker.caFile,
    KAFKA_SSL_CERT_FILE: broker.clientCertFile,
    KAFKA_SSL_KEY_FILE: broker.clientKeyFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: broker.user.name,
    KAFKA_SASL_PASSWORD: broker.user.password,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The Kafka config `loadConfig` makes of `env` (plus a throw-away admin token). */
export function kafkaConfigFromEnv(env: Record<string, string>): KafkaConfig {
  return loadConfig('collector', undefined, { MOSAIC_ADMIN_TOKEN: 'secured-broker-test-token', ...env }).kafka;
}

/**
 * Starts the broker on free loopback ports and resolves once a SCRAM-SHA-512 client (made by
 * createKafkaClient) lists its topics. Call destroy() in afterAll.
 */
export async function startSecuredBroker(opts: { timeoutMs?: number } = {}): Promise<SecuredBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-secured-kafka-'));
  const admin = { name: 'admin', password: randomBytes(9).toString('base64url') };
  const user = { name: 'mosaic', password: randomBytes(9).toString('base64url') };
  let child: ChildProcess | undefined;
  let layout: KafkaLayout | undefined;
  const destroy = async (): Promise<void> => {
    const pid = child?.pid;
    if (pid !== undefined && layout && infraUtil.pidMatches(pid, infraKafka.kafkaMarkers(layout))) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && infraUtil.processCmdline(pid) !== null; i++) await infraUtil.sleep(100);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run killed before afterAll must not leave the JVM behind.
  const onExit = (): void => {
    if (child?.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  };
  try {
    const [libs, java] = await Promise.all([infraKafka.ensureKafkaJars(), infraKafka.ensureJava(), writeCertificates(dir)]);
    writeFileSync(join(dir, 'server-keystore.pem'), ['server-key.pem', 'server.pem'].map((f) => readFileSync(join(dir, f), 'utf8')).join(''));
    const port = await infraUtil.freePort();
    let controllerPort = await infraUtil.freePort();
    while (controllerPort === port) controllerPort = await infraUtil.freePort();
    layout = infraKafka.writeKafkaConfig({ dir, port, controllerPort, logFile: join(dir, 'kafka.log') });
    appendFileSync(layout.configPath, listenerProps(dir, port, controllerPort, admin, user));
    await formatWithScram(java, libs, layout, [admin, user]);
    child = infraKafka.spawnKafka(java, libs, layout, { detached: false, heap: ['128m', '512m'], header: `secured kafka 127.0.0.1:${port}` });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start java for the secured broker (see ${layout.logFile})`);
    process.once('exit', onExit);
    child.once('exit', () => process.off('exit', onExit));
    const broker: SecuredBroker = {
      brokers: [`127.0.0.1:${port}`],
      caFile: join(dir, 'ca.pem'),
      clientCertFile: join(dir, 'client.pem'),
      clientKeyFile: join(dir, 'client-key.pem'),
      user,
      dir,
      logFile: layout.logFile,
      pid,
      destroy,
    };
    await infraUtil.waitUntilAnswers({
      name: `secured Kafka on 127.0.0.1:${port}`,
      check: () => answers(broker),
      timeoutMs: opts.timeoutMs ?? 90_000,
      logFile: layout.logFile,
      child,
      pid,
    });
    return broker;
  } catch (err) {
    await destroy();
    throw err;
  }
}

async function answers(broker: SecuredBroker): Promise<{ ok: boolean; error?: string }> {
  const cfg = kafkaConfigFromEnv(securedBrokerEnv(broker));
  const kafkaAdmin = createKafkaClient(cfg, createLogger({ service: 'secured-broker-probe', level: 'silent' }), { retry: { retries: 0 } }).admin();
  try {
    await kafkaAdmin.connect();
    await kafkaAdmin.listTopics();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    await kafkaAdmin.disconnect().catch(() => undefined);
  }
}
