'use strict';
// Readiness probes: does something answer on a TCP port, as Kafka, as a MongoDB-wire server?
// kafkajs and mongodb are required lazily (only the probes that run load them).

const net = require('node:net');
const { sleep, errorMessage } = require('./common.js');

/**
 * Does anything accept a TCP connection on host:port?
 * @param {string} host
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<boolean>}
 */
function tcpAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (/** @type {boolean} */ ok) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A free loopback TCP port (bound then released; racy by nature but fine for tests).
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Does a Kafka broker answer a metadata request (admin listTopics)?
 * @param {string[]} brokers
 * @param {number} [timeoutMs]
 * @returns {Promise<{ok: true} | {ok: false, error: string}>}
 */
async function kafkaAnswers(brokers, timeoutMs = 3000) {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'mosaic-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 2000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  try {
    const attempt = (async () => {
      await admin.connect();
      await admin.listTopics();
    })();
    attempt.catch(() => undefined);
    await Promise.race([
      attempt,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Get the broker past its first-use delays now rather than in the first test: the group
 * coordinator's topic (FindCoordinator) and a producer-id block (InitProducerId of an
 * idempotent producer). Best effort; returns whether both succeeded.
 * @param {string[]} brokers
 * @param {number} [timeoutMs]
 */
async function kafkaWarmUp(brokers, timeoutMs = 20000) {
  const { Kafka, logLevel, Partitioners } = require('kafkajs');
  const kafka = new Kafka({ clientId: 'mosaic-infra-warmup', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  /** @param {() => Promise<unknown>} step */
  const retrying = async (step) => {
    while (Date.now() < deadline) {
      try {
        await step();
        return true;
      } catch {
        await sleep(300);
      }
    }
    return false;
  };
  const admin = kafka.admin({ retry: { retries: 0 } });
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  try {
    const groups = await retrying(async () => {
      await admin.connect();
      await admin.describeGroups(['mosaic-infra-warmup']);
    });
    const producerId = await retrying(async () => {
      await producer.disconnect().catch(() => undefined);
      await producer.connect();
    });
    return groups && producerId;
  } catch {
    return false;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Does a MongoDB-wire server answer ping? Also tells which server it is.
 * @param {string} uri
 * @param {number} [timeoutMs]
 * @returns {Promise<{ok: true, server: string} | {ok: false, error: string}>}
 */
async function mongoAnswers(uri, timeoutMs = 3000) {
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    /** @type {string} */
    let server = 'mongodb';
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      server = info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : `MongoDB ${info.version}`;
    } catch {
      // buildInfo is optional for the readiness decision
    }
    return { ok: true, server };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

module.exports = { tcpAnswers, freePort, kafkaAnswers, kafkaWarmUp, mongoAnswers };
