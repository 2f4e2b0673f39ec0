// The demo shop: `node dist/apps/demo-shop/src/main.js` (npm start runs it on port 8091).
import { loadDemoShopConfig } from '@mosaic/shared-config';
import { createLogger } from '@mosaic/shared-logging';
import { startDemoShop } from './server';
import { resolveWriteKey } from './write-key';

/** Where visitors' browsers open the shop (its pages call the decision API from these origins). */
function siteOrigins(http: { host: string; port: number }): string[] {
  const hosts = ['127.0.0.1', 'localhost', ...(['0.0.0.0', '::', '127.0.0.1', 'localhost'].includes(http.host) ? [] : [http.host])];
  return hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${http.port}`);
}

async function main(): Promise<void> {
  const config = loadDemoShopConfig();
  const logger = createLogger({ service: 'demo-shop', level: config.logLevel });
  const log = (msg: string, fields: Record<string, unknown> = {}): void => logger.info(fields, msg);
  const writeKey = await resolveWriteKey(
    {
      writeKey: config.writeKey,
      writeKeyFile: config.writeKeyFile,
      collectorUrl: config.collectorUrl,
      adminToken: config.adminToken,
      sourceName: config.sourceName,
      siteOrigins: siteOrigins(config.http),
    },
    log,
  );
  const shop = await startDemoShop({
    host: config.http.host,
    port: config.http.port,
    collectorUrl: config.collectorUrl,
    activationUrl: config.activationUrl,
    writeKey,
    requireConsent: config.requireConsent,
    log: (msg, fields) => logger.error(fields ?? {}, msg),
  });
  logger.info({ url: shop.url, collector: config.collectorUrl, requireConsent: config.requireConsent }, 'demo shop listening');
  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    shop.close().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'demo-shop', msg: 'failed to start', err: String((err as Error)?.stack ?? err) })}\n`);
  process.exit(1);
});
