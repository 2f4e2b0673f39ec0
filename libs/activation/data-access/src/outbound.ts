/**
 * The outbound address policy at connection time (DESIGN §12). A destination's host is checked
 * as configured (IP literals never reach a `lookup`), then every address it resolves to; the
 * connection is made only to those checked addresses, through the `lookup` given to the socket,
 * so a name that resolves to something else a moment later (DNS rebinding) gains nothing.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { outboundAddressProblem, outboundHostProblem, OutboundAllowList } from '@mosaic/activation-domain';

/** The `code` of an OutboundBlockedError. */
export const OUTBOUND_BLOCKED = 'EOUTBOUNDBLOCKED';

/** A destination the outbound address policy refuses: a permanent failure of the delivery. */
export class OutboundBlockedError extends Error {
  override readonly name = 'OutboundBlockedError';
  readonly code = OUTBOUND_BLOCKED;
}

/** Whether `err` is (or was caused by) an OutboundBlockedError. */
export function isOutboundBlocked(err: unknown): err is { message: string } {
  const e = err as { code?: unknown; cause?: unknown } | null | undefined;
  return e?.code === OUTBOUND_BLOCKED || (e?.cause !== undefined && isOutboundBlocked(e.cause));
}

/** Resolves a host name to all its addresses (dns.lookup's shape). */
export type ResolveAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

const systemResolve: ResolveAll = (hostname, family) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, family, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Checks hosts and resolved addresses against the policy and the operator's allow-list. */
export class OutboundGuard {
  /** Keep-alive agents whose every connection goes through `lookup`. */
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;

  constructor(
    readonly allow: OutboundAllowList = OutboundAllowList.NONE,
    private readonly resolveAll: ResolveAll = systemResolve,
  ) {
    this.httpAgent = new HttpAgent({ keepAlive: true, lookup: this.lookup });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, lookup: this.lookup });
  }

  /** Closes the agents' idle connections (shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Throws an OutboundBlockedError when the configured host (name or literal address) is refused. */
  checkHost(host: string): void {
    const problem = outboundHostProblem(host, this.allow);
    if (problem !== undefined) throw new OutboundBlockedError(`${host} ${problem}`);
  }

  /** Every address of `hostname`, each one checked; an OutboundBlockedError if any is refused. */
  async resolve(hostname: string, family = 0): Promise<LookupAddress[]> {
    this.checkHost(hostname);
    const addresses = isIP(hostname) !== 0 ? [{ address: hostname, family: isIP(hostname) }] : await this.resolveAll(hostname, family);
    // One refused address refuses the name: which address a connection picks is not ours to choose.
    for (const a of addresses) {
      const problem = outboundAddressProblem(hostname, a.address, this.allow);
      if (problem !== undefined) throw new OutboundBlockedError(problem);
    }
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} resolves to no address`), { code: 'ENOTFOUND' });
    return addresses;
  }

  /** A `lookup` for net, tls, http and https: the socket connects only to the addresses checked. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname, typeof options.family === 'number' ? options.family : 0).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };

  /** A connected TCP socket to `host:port` through the checked addresses (nodemailer's `getSocket`). */
  connect(host: string, port: number, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      try {
        this.checkHost(host); // a literal address is connected without a lookup
      } catch (err) {
        return reject(err);
      }
      const socket = netConnect({ host, port, lookup: this.lookup });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connection to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
      const failed = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        socket.on('error', () => undefined); // until the SMTP client attaches its own handler
        resolve(socket);
      });
    });
  }
}
