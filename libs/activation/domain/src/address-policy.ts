/**
 * Where outbound calls (webhooks, SMTP) may go (DESIGN §12): public addresses only, unless the
 * operator allow-lists a host name or an address range. Pure: the caller resolves host names
 * and passes every resolved address here. `node:net`'s BlockList and isIP are computation, not
 * I/O.
 */
import { BlockList, isIP } from 'node:net';

/** Whether an address may be called, and if not, what kind of address it is. */
export type AddressVerdict = { public: true } | { public: false; reason: string };

type Cidr = readonly [address: string, prefix: number];

/** Cloud instance-metadata services (AWS, ECS, GCP, Azure, Tencent, Alibaba, Oracle): named as such in refusals. */
const METADATA_V4: readonly string[] = ['169.254.169.254', '169.254.170.2', '169.254.0.23', '100.100.100.200', '192.0.0.192'];
const METADATA_V6: readonly string[] = ['fd00:ec2::254'];

/** Host names of cloud instance-metadata services; refused by name as well as by address. */
export const METADATA_HOSTS: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
];

// The first range that matches names the reason (more specific ranges come first).
const V4: readonly (readonly [string, readonly Cidr[]])[] = [
  ['unspecified ("this network")', [['0.0.0.0', 8]]],
  ['loopback', [['127.0.0.0', 8]]],
  [
    'private',
    [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
  ],
  ['carrier-grade NAT', [['100.64.0.0', 10]]],
  ['link-local', [['169.254.0.0', 16]]],
  ['IETF protocol assignment', [['192.0.0.0', 24]]],
  [
    'documentation',
    [
      ['192.0.2.0', 24],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
    ],
  ],
  ['6to4 relay anycast', [['192.88.99.0', 24]]],
  ['benchmarking', [['198.18.0.0', 15]]],
  ['multicast', [['224.0.0.0', 4]]],
  ['reserved', [['240.0.0.0', 4]]],
];

// Inside global unicast (2000::/3); everything outside it is refused (below).
const V6: readonly (readonly [string, readonly Cidr[]])[] = [
  [
    'documentation',
    [
      ['2001:db8::', 32],
      ['3fff::', 20],
    ],
  ],
  ['Teredo tunnel', [['2001::', 32]]],
  ['IETF protocol assignment', [['2001::', 23]]],
];

const V6_OUTSIDE_GLOBAL: readonly (readonly [string, readonly Cidr[]])[] = [
  ['unspecified', [['::', 128]]],
  ['loopback', [['::1', 128]]],
  ['NAT64 local-use', [['64:ff9b:1::', 48]]],
  ['discard-only', [['100::', 64]]],
  ['SRv6 segment identifier', [['5f00::', 16]]],
  ['unique-local', [['fc00::', 7]]],
  ['link-local', [['fe80::', 10]]],
  ['site-local', [['fec0::', 10]]],
  ['multicast', [['ff00::', 8]]],
];

function blockList(cidrs: readonly Cidr[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of cidrs) list.addSubnet(address, prefix, family);
  return list;
}

const METADATA = new BlockList();
for (const a of METADATA_V4) METADATA.addAddress(a, 'ipv4');
for (const a of METADATA_V6) METADATA.addAddress(a, 'ipv6');

const compile = (ranges: readonly (readonly [string, readonly Cidr[]])[], family: 'ipv4' | 'ipv6') =>
  ranges.map(([reason, cidrs]) => [reason, blockList(cidrs, family)] as const);
const V4_LISTS = compile(V4, 'ipv4');
const V6_LISTS = compile(V6, 'ipv6');
const V6_OUTSIDE_LISTS = compile(V6_OUTSIDE_GLOBAL, 'ipv6');
const GLOBAL_UNICAST = blockList([['2000::', 3]], 'ipv6');
const MAPPED = blockList([['::ffff:0:0', 96]], 'ipv6');
const NAT64 = blockList([['64:ff9b::', 96]], 'ipv6');
const SIX_TO_FOUR = blockList([['2002::', 16]], 'ipv6');

/** The eight 16-bit words of a valid IPv6 address (zone id removed). */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The IPv4 address in words `i` and `i + 1` of an IPv6 address. */
function embeddedV4(words: readonly number[], i: number): string {
  const hi = words[i] ?? 0;
  const lo = words[i + 1] ?? 0;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function firstMatch(lists: readonly (readonly [string, BlockList])[], address: string, family: 'ipv4' | 'ipv6'): string | undefined {
  return lists.find(([, list]) => list.check(address, family))?.[0];
}

function classifyV6(address: string): AddressVerdict {
  const words = ipv6Words(address);
  // IPv4 reached through IPv6 is judged as that IPv4 address.
  const embedded =
    MAPPED.check(address, 'ipv6') || NAT64.check(address, 'ipv6')
      ? embeddedV4(words, 6)
      : SIX_TO_FOUR.check(address, 'ipv6')
        ? embeddedV4(words, 1)
        : undefined;
  if (embedded !== undefined) {
    const inner = classifyAddress(embedded);
    return inner.public ? inner : { public: false, reason: `${inner.reason} (IPv4 ${embedded} inside IPv6)` };
  }
  if (!GLOBAL_UNICAST.check(address, 'ipv6')) return { public: false, reason: firstMatch(V6_OUTSIDE_LISTS, address, 'ipv6') ?? 'reserved' };
  const reason = firstMatch(V6_LISTS, address, 'ipv6');
  return reason === undefined ? { public: true } : { public: false, reason };
}

/**
 * Whether an IP address is public. Not public: loopback, private, link-local, carrier-grade
 * NAT, cloud metadata, unspecified, documentation, benchmarking, multicast and reserved ranges
 * of IPv4 and IPv6; IPv6 outside global unicast (2000::/3); IPv4 inside IPv6 (mapped
 * `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is judged as the IPv4 address.
 * A string that is not an IP address is not public.
 */
export function classifyAddress(address: string): AddressVerdict {
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return { public: false, reason: 'not an IP address' };
  if (family === 4 && METADATA.check(bare, 'ipv4')) return { public: false, reason: 'cloud metadata' };
  if (family === 6 && !MAPPED.check(bare, 'ipv6') && METADATA.check(bare, 'ipv6')) return { public: false, reason: 'cloud metadata' };
  if (family === 6) return classifyV6(bare);
  const reason = firstMatch(V4_LISTS, bare, 'ipv4');
  return reason === undefined ? { public: true } : { public: false, reason };
}

/**
 * A host as the WHATWG URL parser sees it, lower-case, without brackets or a trailing dot:
 * `0x7f.1`, `2130706433` and `0177.0.0.1` become `127.0.0.1`, `[::ffff:127.0.0.1]` becomes
 * `::ffff:7f00:1`. Undefined when it is not a valid host.
 */
export function normaliseHost(host: string): string | undefined {
  const trimmed = host.trim();
  const bracketed = isIP(trimmed) === 6 ? `[${trimmed}]` : trimmed;
  if (bracketed === '' || /[/?#@\s\\]/.test(bracketed)) return undefined;
  try {
    const hostname = new URL(`http://${bracketed}/`).hostname;
    return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The operator's exceptions (`ACTIVATION_OUTBOUND_ALLOW`): host names (matched exactly, after
 * normalisation; any address they resolve to is accepted) and addresses or CIDR ranges.
 */
export class OutboundAllowList {
  /** No exceptions: only public addresses. */
  static readonly NONE = new OutboundAllowList([], []);

  private readonly hosts: ReadonlySet<string>;
  private readonly ranges = new BlockList();
  /** The entries, normalised (`127.0.0.1/32`, `internal.example.com`): for logs. */
  readonly entries: readonly string[];

  private constructor(hosts: readonly string[], cidrs: readonly Cidr[]) {
    this.hosts = new Set(hosts);
    for (const [address, prefix] of cidrs) this.ranges.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4');
    this.entries = [...cidrs.map(([address, prefix]) => `${address}/${prefix}`), ...hosts];
  }

  /**
   * Parses a comma-separated list of host names, IP addresses and CIDR ranges
   * (`127.0.0.1/32,::1,hooks.internal.example.com`); empty is `NONE`.
   */
  static parse(text: string): { ok: true; value: OutboundAllowList } | { ok: false; errors: string[] } {
    const hosts: string[] = [];
    const cidrs: Cidr[] = [];
    const errors: string[] = [];
    for (const entry of text
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const parsed = parseEntry(entry);
      if (typeof parsed === 'string') errors.push(`"${entry}": ${parsed}`);
      else if ('host' in parsed) hosts.push(parsed.host);
      else cidrs.push(parsed.cidr);
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: new OutboundAllowList(hosts, cidrs) };
  }

  /** Whether nothing is allow-listed. */
  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Whether this host name (any spelling `normaliseHost` accepts) is allow-listed. */
  allowsHost(host: string): boolean {
    const name = normaliseHost(host);
    return name !== undefined && this.hosts.has(name);
  }

  /** Whether this IP address is in an allow-listed range (IPv4 ranges cover IPv4-mapped IPv6). */
  allowsAddress(address: string): boolean {
    const bare = address.replace(/%.*$/, '');
    const family = isIP(bare);
    return family !== 0 && this.ranges.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function parseEntry(entry: string): { host: string } | { cidr: Cidr } | string {
  const slash = entry.indexOf('/');
  const address = (slash < 0 ? entry : entry.slice(0, slash)).replace(/^\[(.*)\]$/, '$1');
  const family = isIP(address);
  if (slash >= 0) {
    if (family === 0) return 'a range must be an IP address and a prefix length (10.0.0.0/8, fd00::/8)';
    const prefix = entry.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `the prefix length must be 0 to ${max}`;
    return { cidr: [address, Number(prefix)] };
  }
  if (family !== 0) return { cidr: [address, family === 4 ? 32 : 128] };
  const host = normaliseHost(entry);
  if (host === undefined || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host)) return 'not a host name, an IP address or a CIDR range';
  // `0x7f.1` is 127.0.0.1 to the URL parser: write the address itself, so the list says what it allows.
  if (isIP(host) !== 0) return `write the address as ${host}`;
  return { host };
}

const ONLY_PUBLIC = 'outbound calls go only to public addresses unless the operator allow-lists the host or address (ACTIVATION_OUTBOUND_ALLOW)';

/** Why the configured host of a destination (URL host or SMTP host) may not be called, or undefined. */
export function outboundHostProblem(host: string, allow: OutboundAllowList): string | undefined {
  const name = normaliseHost(host);
  if (name === undefined) return 'is not a valid host';
  if (allow.allowsHost(name)) return undefined;
  if (isIP(name) !== 0) {
    const verdict = classifyAddress(name);
    if (verdict.public || allow.allowsAddress(name)) return undefined;
    return `points to ${name} (${verdict.reason}); ${ONLY_PUBLIC}`;
  }
  if (METADATA_HOSTS.includes(name)) return `points to ${name} (cloud metadata); ${ONLY_PUBLIC}`;
  return undefined;
}

/** Why connecting to `address`, which `host` resolved to, is refused, or undefined. */
export function outboundAddressProblem(host: string, address: string, allow: OutboundAllowList): string | undefined {
  if (allow.allowsHost(host) || allow.allowsAddress(address)) return undefined;
  const verdict = classifyAddress(address);
  if (verdict.public) return undefined;
  return `${host} resolves to ${address} (${verdict.reason}); ${ONLY_PUBLIC}`;
}
