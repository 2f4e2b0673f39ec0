/**
 * Configuration of the demo shop (apps/demo-shop): a website that carries the tracker, not a
 * Kafka service, so it has its own small schema; read and validated once at start-up like the
 * services' (a bad value stops it with a message naming every problem).
 */
import { z } from 'zod';
import { ConfigError } from './config';

const port = z.coerce.number().int().min(0).max(65_535);
const url = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const demoShopEnvSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MOSAIC_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  DEMO_SHOP_PORT: port.default(8091),
  /** The collector as visitors' browsers reach it: mosaic.js is loaded from there and events go there. */
  DEMO_SHOP_COLLECTOR_URL: url.default('http://127.0.0.1:8080'),
  /** Where the tracker's `decide` asks for the home page banner (the activation service). */
  DEMO_SHOP_ACTIVATION_URL: url.default('http://127.0.0.1:8084'),
  /** The write key of the shop's source. When unset, it is read from DEMO_SHOP_WRITE_KEY_FILE, or a source is created with the admin token. */
  DEMO_SHOP_WRITE_KEY: z.string().min(1).optional(),
  DEMO_SHOP_WRITE_KEY_FILE: z.string().min(1).default('.mosaic/demo-shop-write-key'),
  DEMO_SHOP_SOURCE_NAME: z.string().min(1).max(200).default('demo-shop'),
  /** Ask visitors for consent before tracking (a consent banner; the tracker's requireConsent). */
  DEMO_SHOP_REQUIRE_CONSENT: flag,
  MOSAIC_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export interface DemoShopConfig {
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  http: { host: string; port: number };
  collectorUrl: string;
  activationUrl: string;
  writeKey?: string;
  writeKeyFile: string;
  sourceName: string;
  requireConsent: boolean;
  adminToken?: string;
}

export function loadDemoShopConfig(env: Record<string, string | undefined> = process.env): DemoShopConfig {
  const r = demoShopEnvSchema.safeParse(env);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  const c = r.data;
  return {
    logLevel: c.LOG_LEVEL,
    http: { host: c.MOSAIC_HTTP_HOST, port: c.DEMO_SHOP_PORT },
    collectorUrl: c.DEMO_SHOP_COLLECTOR_URL,
    activationUrl: c.DEMO_SHOP_ACTIVATION_URL,
    writeKey: c.DEMO_SHOP_WRITE_KEY,
    writeKeyFile: c.DEMO_SHOP_WRITE_KEY_FILE,
    sourceName: c.DEMO_SHOP_SOURCE_NAME,
    requireConsent: c.DEMO_SHOP_REQUIRE_CONSENT,
    adminToken: c.MOSAIC_ADMIN_TOKEN,
  };
}
