import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, kafkaSecurityWarnings, loadConfig, z } from './config';

const token = 'x'.repeat(20);

describe('loadConfig', () => {
  it('applies defaults and derives per-service values', () => {
    const c = loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token });
    expect(c.http.port).toBe(8081);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafka.topicPrefix).toBe('mosaic.');
    expect(c.kafka.consumer.groupId).toBe('mosaic.identity');
    expect(c.mongo.uri).toBe('mongodb://127.0.0.1:27017/mosaic');
    expect(c.kafka.provisionTopics).toBe(true);
    expect(c.kafka.consumer.concurrency).toBe(6);
    expect(c.kafka.producerAckTimeoutMs).toBe(5_000);
  });

  it('validates KAFKA_CONSUMER_CONCURRENCY (a positive integer)', () => {
    expect(loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token, KAFKA_CONSUMER_CONCURRENCY: '3' }).kafka.consumer.concurrency).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'many']) {
      expect(() => loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token, KAFKA_CONSUMER_CONCURRENCY: bad })).toThrow(/KAFKA_CONSUMER_CONCURRENCY/);
    }
  });

  it('reads overrides, typed', () => {
    const c = loadConfig('collector', undefined, {
      MOSAIC_ADMIN_TOKEN: token,
      COLLECTOR_PORT: '9000',
      KAFKA_BROKERS: 'a:1, b:2',
      KAFKA_PROVISION_TOPICS: 'false',
      MOSAIC_TOPIC_PREFIX: 'acme-',
      KAFKA_PRODUCER_ACK_TIMEOUT_MS: '60000',
    });
    expect(c.http.port).toBe(9000);
    expect(c.kafka.producerAckTimeoutMs).toBe(60_000);
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.kafka.provisionTopics).toBe(false);
    expect(c.kafka.consumer.groupId).toBe('acme-collector');
  });

  it('reports every problem at once, naming the variable', () => {
    try {
      loadConfig('collector', z.object({ COLLECTOR_X: z.coerce.number().int() }), {
        MOSAIC_ADMIN_TOKEN: 'short',
        KAFKA_TOPIC_PARTITIONS: '0',
        MONGODB_URI: 'http://nope',
        MOSAIC_TOPIC_PREFIX: 'bad prefix',
        COLLECTOR_X: 'abc',
      });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const v of ['MOSAIC_ADMIN_TOKEN', 'KAFKA_TOPIC_PARTITIONS', 'MONGODB_URI', 'MOSAIC_TOPIC_PREFIX', 'COLLECTOR_X']) expect(msg).toContain(v);
    }
  });

  it('requires the admin token', () => {
    expect(() => loadConfig('activation', undefined, {})).toThrow(/MOSAIC_ADMIN_TOKEN/);
  });
});

describe('loadConfig: Kafka TLS and SASL', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  const kafka = (env: Record<string, string>) => loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token, ...env }).kafka;
  const problems = (env: Record<string, string>): string => {
    try {
      kafka(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected ConfigError');
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mosaic-config-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=mosaic-test');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other-key.pem');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes-256-cbc', '-pass', 'pass:secret', '-out', 'encrypted-key.pem');
    writeFileSync(file('not-pem.txt'), 'this is not a certificate\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is plaintext without authentication by default', () => {
    const k = kafka({});
    expect(k.ssl).toBeUndefined();
    expect(k.sasl).toBeUndefined();
  });

  it('KAFKA_SSL=true alone: TLS with the default CA store, certificates verified', () => {
    expect(kafka({ KAFKA_SSL: 'true' }).ssl).toEqual({ ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: true });
  });

  it('reads the CA, client certificate and key once, into the config', () => {
    const k = kafka({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file('cert.pem'), KAFKA_SSL_CERT_FILE: file('cert.pem'), KAFKA_SSL_KEY_FILE: file('key.pem') });
    expect(k.ssl?.ca).toContain('-----BEGIN CERTIFICATE-----');
    expect(k.ssl?.cert).toContain('-----BEGIN CERTIFICATE-----');
    expect(k.ssl?.key).toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  });

  it('names the variable and the path of a missing file', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file('nope.pem') })).toMatch(/KAFKA_SSL_CA_FILE: cannot read .*nope\.pem/);
  });

  it('rejects a file that holds no PEM certificate or key', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file('not-pem.txt') })).toMatch(/KAFKA_SSL_CA_FILE: .*not-pem\.txt holds no PEM certificate/);
    const msg = problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: file('key.pem'), KAFKA_SSL_KEY_FILE: file('cert.pem') });
    expect(msg).toMatch(/KAFKA_SSL_CERT_FILE: .*holds no PEM certificate/);
    expect(msg).toMatch(/KAFKA_SSL_KEY_FILE: .*holds no PEM private key/);
  });

  it('rejects an encrypted private key (there is no passphrase setting)', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: file('cert.pem'), KAFKA_SSL_KEY_FILE: file('encrypted-key.pem') })).toMatch(
      /KAFKA_SSL_KEY_FILE: .*encrypted-key\.pem holds an encrypted private key/,
    );
  });

  it('rejects half a client certificate pair', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: file('cert.pem') })).toMatch(/KAFKA_SSL_KEY_FILE: required when KAFKA_SSL_CERT_FILE is set/);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: file('key.pem') })).toMatch(/KAFKA_SSL_CERT_FILE: required when KAFKA_SSL_KEY_FILE is set/);
  });

  it('rejects a key that does not belong to the certificate', () => {
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: file('cert.pem'), KAFKA_SSL_KEY_FILE: file('other-key.pem') })).toMatch(
      /KAFKA_SSL_KEY_FILE: .* is not the private key of the certificate/,
    );
  });

  it('rejects TLS files while KAFKA_SSL is false (it would connect in plaintext)', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: file('cert.pem') })).toMatch(/KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true/);
  });

  it('KAFKA_SSL_REJECT_UNAUTHORIZED=false turns verification off, with a warning', () => {
    const k = kafka({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' });
    expect(k.ssl?.rejectUnauthorized).toBe(false);
    expect(kafkaSecurityWarnings(k)).toEqual([expect.stringContaining('KAFKA_SSL_REJECT_UNAUTHORIZED=false')]);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'maybe' })).toContain('KAFKA_SSL_REJECT_UNAUTHORIZED');
  });

  it('reads a SASL mechanism (any case) with its credentials', () => {
    for (const [given, mechanism] of [
      ['plain', 'plain'],
      ['SCRAM-SHA-256', 'scram-sha-256'],
      ['scram-sha-512', 'scram-sha-512'],
    ]) {
      expect(kafka({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: given, KAFKA_SASL_USERNAME: 'mosaic', KAFKA_SASL_PASSWORD: 'p@ss' }).sasl).toEqual({
        mechanism,
        username: 'mosaic',
        password: 'p@ss',
      });
    }
    expect(problems({ KAFKA_SASL_MECHANISM: 'aws_msk_iam' })).toMatch(/KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512/);
  });

  it('rejects a mechanism without credentials', () => {
    const msg = problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512' });
    expect(msg).toContain('KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set');
    expect(msg).toContain('KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set');
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'mosaic' })).toContain('KAFKA_SASL_PASSWORD: required');
  });

  it('rejects credentials without a mechanism', () => {
    expect(problems({ KAFKA_SASL_USERNAME: 'mosaic', KAFKA_SASL_PASSWORD: 'secret' })).toMatch(
      /KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set/,
    );
  });

  it('warns (does not fail) about PLAIN without TLS; SCRAM or TLS need no warning', () => {
    const creds = { KAFKA_SASL_USERNAME: 'mosaic', KAFKA_SASL_PASSWORD: 'secret' };
    expect(kafkaSecurityWarnings(kafka({ ...creds, KAFKA_SASL_MECHANISM: 'plain' }))).toEqual([expect.stringContaining('cleartext')]);
    expect(kafkaSecurityWarnings(kafka({ ...creds, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'true' }))).toEqual([]);
    expect(kafkaSecurityWarnings(kafka({ ...creds, KAFKA_SASL_MECHANISM: 'scram-sha-512' }))).toEqual([]);
  });

  it('treats empty values as unset', () => {
    const k = kafka({ KAFKA_SSL_CA_FILE: '', KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '', KAFKA_SASL_PASSWORD: '' });
    expect(k.ssl).toBeUndefined();
    expect(k.sasl).toBeUndefined();
  });

  it('never puts the password in an error message', () => {
    expect(problems({ KAFKA_SASL_USERNAME: 'mosaic', KAFKA_SASL_PASSWORD: 'hunter2-secret' })).not.toContain('hunter2-secret');
  });
});
