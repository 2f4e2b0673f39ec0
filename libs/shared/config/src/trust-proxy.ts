import { z } from 'zod';

/** Fastify's `trustProxy` from a setting: `false`, `true`, a hop count, or a comma list of proxy addresses/CIDRs. */
export function trustProxySetting(v: string): boolean | number | string[] {
  const t = v.trim().toLowerCase();
  if (t === 'false' || t === '' || t === '0') return false;
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) return Number(t);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A service's `<SERVICE>_TRUST_PROXY` variable (whose `X-Forwarded-For` the client address is read from). */
export const trustProxyVar = () => z.string().default('false');
