// Types for tools/infra/index.js (plain CommonJS, so that it runs before anything is
// compiled). Used by libs/shared/testing (Jest global setup and test helpers).

export interface InfraOptions {
  /** default env MOSAIC_KAFKA_PORT or 9092 */
  kafkaPort?: number;
  /** default env MOSAIC_KAFKA_CONTROLLER_PORT or kafkaPort + 1 */
  kafkaControllerPort?: number;
  /** default env MOSAIC_MONGO_PORT or 27017 */
  mongoPort?: number;
  /** FerretDB's private PostgreSQL cluster; default env MOSAIC_POSTGRES_PORT or 27432 */
  postgresPort?: number;
  /** how long to wait for the servers to answer; default 120 000 */
  timeoutMs?: number;
  /** repository root; state goes to <root>/.mosaic */
  root?: string;
  /** default env MOSAIC_CACHE_DIR or ~/.cache/mosaic */
  cacheDir?: string;
  quiet?: boolean;
  /** progress lines; default: "[infra] ..." on stderr */
  log?: (line: string) => void;
  /**
   * up(): record this process as a user of the servers until it calls release(), so that
   * another process's release() does not stop them under it (concurrent Jest runs).
   */
  lease?: boolean;
}

export interface UpResult {
  kafkaBrokers: string[];
  /** without a database name */
  mongoUri: string;
  /** what this call started (false for anything reused) */
  started: { kafka: boolean; mongo: boolean };
  mode: 'external' | 'docker' | 'local';
  /**
   * e.g. "MongoDB 7.0.14", "FerretDB v1.24.0", or where mosaic infra started FerretDB
   * "FerretDB v1.24.0 (PostgreSQL backend)" / "FerretDB v1.24.0 (SQLite backend)"
   */
  mongoServer?: string;
  logFiles: { kafka?: string; mongo?: string };
}

export type StopResult = 'stopped' | 'killed' | 'not-running' | 'not-started' | 'skipped';

export interface ServiceStatus {
  answering: boolean;
  error?: string;
  startedBy: string | null;
  pid?: number;
  logFile?: string;
}

export interface StatusResult {
  mode: 'external' | 'docker' | 'local' | 'none';
  kafka: ServiceStatus & { brokers: string[] };
  mongo: ServiceStatus & {
    uri: string;
    server?: string;
    /** FerretDB's backend, when mosaic infra started FerretDB */
    backend?: 'postgresql' | 'sqlite';
    /** the PostgreSQL cluster behind FerretDB, when mosaic infra started it */
    postgres?: PostgresStatus;
  };
}

export interface PostgresStatus {
  port: number;
  /** the recorded PID is still that postgres */
  running: boolean;
  pid: number;
  /** major version, e.g. "15" */
  major: string;
  /** where initdb, postgres and psql are */
  binDir: string;
  dataDir: string;
  logFile: string;
}

export interface PrivateKafkaOptions {
  /** default: a free port */
  port?: number;
  /** default: a free port */
  controllerPort?: number;
  /** default: a new temp dir (removed by destroy()) */
  dataDir?: string;
  /** default: <dataDir>/kafka.log */
  logFile?: string;
  timeoutMs?: number;
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface PrivateKafka {
  readonly brokers: string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** null while stopped */
  readonly pid: number | null;
  /** SIGTERM (graceful, SIGKILL after 30 s) or SIGKILL (crash); resolves once the process is gone */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** start again on the same ports and data dir; resolves once it answers */
  start(): Promise<void>;
  /**
   * SIGSTOP: the broker stops answering but keeps its connections open. Resolves once every
   * thread is stopped (kill(SIGSTOP) alone returns before that, and the broker may still
   * answer a request sent right after it).
   */
  freeze(): Promise<void>;
  /** SIGCONT after freeze() */
  thaw(): void;
  /** SIGKILL and remove the data dir if startPrivateKafka created it */
  destroy(): Promise<void>;
}

export function up(opts?: InfraOptions): Promise<UpResult>;
export function down(opts?: InfraOptions & { only?: { kafka?: boolean; mongo?: boolean }; purge?: boolean }): Promise<{ kafka: StopResult; mongo: StopResult }>;
/**
 * Counterpart of up({lease: true}): drops this process's lease and stops `stop` (what its
 * up() started) once no other live process holds a lease; until then the last process
 * to release stops them. keep: true stops nothing and cancels such a pending stop.
 * whenLast runs under the lock, before anything is stopped, when no other live process
 * holds a lease.
 */
export function release(
  opts?: InfraOptions & { stop?: { kafka?: boolean; mongo?: boolean }; keep?: boolean; whenLast?: () => Promise<void> },
): Promise<{ stopped: Array<'kafka' | 'mongo'>; leftRunningFor: number[] }>;
export function status(opts?: InfraOptions): Promise<StatusResult>;
export function logs(
  opts?: InfraOptions & { follow?: boolean; lines?: number; services?: Array<'kafka' | 'mongo' | 'postgres'>; out?: NodeJS.WritableStream },
): Promise<void>;
export function startPrivateKafka(opts?: PrivateKafkaOptions): Promise<PrivateKafka>;
export function freePort(): Promise<number>;
/** psql's command line for FerretDB's database on the PostgreSQL cluster this infra started (rows unaligned, tab-separated), or null when the store is anything else. */
export function storePsqlCommand(opts?: InfraOptions): Promise<{ bin: string; args: string[] } | null>;
export const KAFKA_VERSION: string;
export const FERRETDB_VERSION: string;
