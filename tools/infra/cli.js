#!/usr/bin/env node
'use strict';
// npm run infra -- up|down|status|logs   (see tools/infra/README.md)

const infra = require('./index.js');
const { rel, errorMessage } = require('./common.js');

const USAGE = `Usage: npm run infra -- <command> [options]

Commands:
  up [--timeout <s>]        start Kafka and a MongoDB-wire server (or reuse what answers)
                            and wait until both answer; prints KAFKA_BROKERS=... and
                            MONGODB_URI=... on stdout (progress goes to stderr)
  down [--purge]            stop what "up" started (by PID); --purge also deletes .mosaic/data
  status [--json]           what is up and where (exit code 0 when both answer, 3 otherwise)
  logs [-f] [-n <lines>] [kafka|mongo|postgres]
                            the last lines of .mosaic/logs/{kafka,mongo,postgres}.log; -f follows

Environment:
  KAFKA_BROKERS + MONGODB_URI   use these servers (both must be set)
  MOSAIC_KAFKA_PORT (9092), MOSAIC_KAFKA_CONTROLLER_PORT (port + 1), MOSAIC_MONGO_PORT (27017)
  MOSAIC_POSTGRES_PORT (27432)  the PostgreSQL cluster behind FerretDB (when there is no mongod)
  MOSAIC_FERRETDB_BACKEND       postgresql or sqlite (default: PostgreSQL, installed with apt-get
                                when missing and root; SQLite only when it cannot be had)
  MOSAIC_CACHE_DIR              downloaded Kafka jars / built FerretDB (default ~/.cache/mosaic)
  MOSAIC_INFRA_DOCKER=0         do not use a Docker engine even if one answers
`;

/** @param {string[]} argv */
function parse(argv) {
  /** @type {{cmd: string | undefined, flags: Set<string>, values: Record<string, string>, rest: string[]}} */
  const a = { cmd: undefined, flags: new Set(), values: {}, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-n' || arg === '--lines' || arg === '--timeout') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      a.values[arg === '--lines' ? '-n' : arg] = v;
    } else if (arg.startsWith('-')) a.flags.add(arg);
    else if (a.cmd === undefined) a.cmd = arg;
    else a.rest.push(arg);
  }
  return a;
}

async function main() {
  const a = parse(process.argv.slice(2));
  switch (a.cmd) {
    case 'up': {
      const timeout = a.values['--timeout'];
      const r = await infra.up(timeout ? { timeoutMs: Number(timeout) * 1000 } : {});
      process.stdout.write(`KAFKA_BROKERS=${r.kafkaBrokers.join(',')}\nMONGODB_URI=${r.mongoUri}\n`);
      return 0;
    }
    case 'down': {
      await infra.down({ purge: a.flags.has('--purge') });
      return 0;
    }
    case 'status': {
      const s = await infra.status();
      if (a.flags.has('--json')) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      } else {
        const line = (/** @type {string} */ name, /** @type {string} */ where, /** @type {typeof s.kafka | typeof s.mongo} */ x, /** @type {string} */ extra) =>
          `${name.padEnd(6)}${(x.answering ? 'up' : 'down').padEnd(6)}${where}${extra}` +
          (x.startedBy ? `  [started by ${x.startedBy}${x.pid ? `, pid ${x.pid}` : ''}]` : x.answering ? '  [not started by mosaic infra]' : '') +
          (x.logFile ? `\n${' '.repeat(12)}log: ${rel(x.logFile)}` : '') +
          (!x.answering && x.error ? `\n${' '.repeat(12)}(${x.error})` : '');
        process.stdout.write(`mode: ${s.mode}\n`);
        process.stdout.write(`${line('kafka', s.kafka.brokers.join(','), s.kafka, '')}\n`);
        const backend = s.mongo.backend ? ` on ${s.mongo.backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'}` : '';
        process.stdout.write(`${line('mongo', s.mongo.uri, s.mongo, s.mongo.server ? `  (${s.mongo.server}${backend})` : '')}\n`);
        const pg = s.mongo.postgres;
        if (pg) {
          process.stdout.write(
            `${'pg'.padEnd(6)}${(pg.running ? 'up' : 'down').padEnd(6)}127.0.0.1:${pg.port}  (PostgreSQL ${pg.major}, data ${rel(pg.dataDir)})` +
              (pg.running ? `  [started by mosaic infra, pid ${pg.pid}]` : '') +
              `\n${' '.repeat(12)}log: ${rel(pg.logFile)}\n`,
          );
        }
      }
      return s.kafka.answering && s.mongo.answering ? 0 : 3;
    }
    case 'logs': {
      const names = ['kafka', 'mongo', 'postgres'];
      const services = /** @type {('kafka' | 'mongo' | 'postgres')[]} */ (a.rest.filter((x) => names.includes(x)));
      const bad = a.rest.filter((x) => !names.includes(x));
      if (bad.length) throw new Error(`unknown service: ${bad.join(' ')} (kafka, mongo or postgres)`);
      await infra.logs({ follow: a.flags.has('-f') || a.flags.has('--follow'), lines: a.values['-n'] ? Number(a.values['-n']) : 50, services });
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return a.cmd === undefined && !a.flags.has('--help') && !a.flags.has('-h') ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${a.cmd}\n\n${USAGE}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[infra] error: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
