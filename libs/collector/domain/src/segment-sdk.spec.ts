/**
 * Compatibility with the real `@segment/analytics-node` SDK: its HTTP client is replaced by
 * an in-memory one (no network), and what it would send must pass through our parsing,
 * write-key extraction and batch validation unchanged.
 */
import { Analytics } from '@segment/analytics-node';
import type { HTTPClient, HTTPClientRequest } from '@segment/analytics-node';
import { processBatch } from './batch';
import { parseJsonBody } from './json';
import { MAX_BATCH_BYTES, checkBodySize, checkContentType, utf8ByteLength } from './limits';
import { partitionKey } from './message';
import { extractWriteKey } from './write-key';

describe('@segment/analytics-node compatibility', () => {
  it('produces requests the collector accepts in full', async () => {
    const requests: HTTPClientRequest[] = [];
    const httpClient: HTTPClient = {
      makeRequest: async (request) => {
        requests.push(request);
        return { status: 200, statusText: 'OK', headers: {} };
      },
    };
    const analytics = new Analytics({ writeKey: 'wk_test', httpClient, maxEventsInBatch: 10, flushInterval: 60_000 });
    analytics.identify({ userId: 'user-1', traits: { email: 'zoe@example.com', 'plan.name': 'pro' } });
    analytics.track({ anonymousId: 'anon-1', event: 'Product Viewed', properties: { product_id: 'p1', price: 12.5 } });
    analytics.page({ anonymousId: 'anon-1', name: 'Home', category: 'Landing' });
    analytics.screen({ userId: 'user-1', name: 'Cart' });
    analytics.group({ userId: 'user-1', groupId: 'acme', traits: { name: 'Acme' } });
    analytics.alias({ userId: 'user-1', previousId: 'anon-1' });
    await analytics.closeAndFlush({ timeout: 5000 });

    expect(requests.length).toBeGreaterThanOrEqual(1);
    const accepted = [];
    for (const request of requests) {
      expect(request.url).toMatch(/\/v1\/batch$/);
      expect(checkContentType(request.headers['Content-Type'])).toBeUndefined();
      expect(checkBodySize(utf8ByteLength(request.body), 'batch')).toBeUndefined();
      expect(utf8ByteLength(request.body)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
      const body = parseJsonBody(request.body);
      expect(extractWriteKey(request.headers['Authorization'] ?? request.headers['authorization'], body)).toBe('wk_test');
      const result = processBatch(body, {
        sourceId: 'src',
        receivedAt: new Date(),
        idGenerator: () => 'generated',
        request: { ip: '192.0.2.1', userAgent: request.headers['User-Agent'] },
      });
      expect(result.rejected).toEqual([]);
      accepted.push(...result.accepted);
    }
    expect(accepted.map((e) => e.type).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', 'track']);
    const track = accepted.find((e) => e.type === 'track');
    expect(track?.event).toBe('Product Viewed');
    expect(track?.properties).toEqual({ product_id: 'p1', price: 12.5 });
    expect(track?.messageId).not.toBe('generated'); // the SDK's own id is kept
    expect((track?.context['library'] as { name?: string } | undefined)?.name).toBe('@segment/analytics-node');
    expect(track?.context['ip']).toBe('192.0.2.1');
    expect(track && partitionKey(track)).toBe('anon-1');
    expect(track?.originalTimestamp).toBeDefined();
    expect(track?.sentAt).toBeDefined();
    const identify = accepted.find((e) => e.type === 'identify');
    expect(identify?.traits).toEqual({ email: 'zoe@example.com', 'plan\uFF0Ename': 'pro' });
    const alias = accepted.find((e) => e.type === 'alias');
    expect(alias && partitionKey(alias)).toBe('user-1');
  });
});
