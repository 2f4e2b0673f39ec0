/**
 * One signed webhook POST (Standard Webhooks headers), connected only to addresses the outbound
 * guard checked; redirects are not followed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { sign, webhookHeaders, type AttemptResult, type WebhookDestination } from '@mosaic/activation-domain';
import { isOutboundBlocked, OutboundGuard } from './outbound';

/** What one webhook POST came to. */
export interface WebhookResult {
  status: AttemptResult;
  retryAfter?: string;
  error?: string;
}

/**
 * One signed POST (Standard Webhooks headers); never throws. It connects only to addresses the
 * outbound guard checked (`blocked` otherwise); redirects are not followed.
 */
export async function postWebhook(
  target: Pick<WebhookDestination, 'url' | 'secret' | 'headers' | 'timeoutMs'>,
  id: string,
  body: string,
  timestamp: number,
  outbound: OutboundGuard = new OutboundGuard(),
  traceHeaders: Record<string, string> = {},
): Promise<WebhookResult> {
  const signature = sign({ id, timestamp, body, secret: target.secret ?? '' });
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Mosaic-Webhooks/1',
    ...(target.headers ?? {}),
    ...traceHeaders,
    ...webhookHeaders({ id, timestamp, signature }),
    'content-length': String(Buffer.byteLength(body)),
  };
  let url: URL;
  try {
    url = new URL(target.url);
    outbound.checkHost(url.hostname); // a literal address is connected without a lookup
  } catch (err) {
    return failure(err, target.timeoutMs, false);
  }
  const signal = AbortSignal.timeout(target.timeoutMs);
  const https = url.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: WebhookResult) => {
      if (!settled) resolve(r);
      settled = true;
    };
    const answered = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const retryAfter = res.headers['retry-after'];
      const result: WebhookResult = { status, ...(retryAfter !== undefined ? { retryAfter } : {}), ...(status >= 300 ? { error: `HTTP ${status}` } : {}) };
      res.on('error', () => undefined); // the status is known: an interrupted body does not change it
      res.on('end', () => settle(result));
      res.on('close', () => settle(result));
      res.resume(); // drain: keeps the connection reusable
    };
    const options = { method: 'POST', headers, signal, lookup: outbound.lookup, agent: https ? outbound.httpsAgent : outbound.httpAgent };
    const req = https ? httpsRequest(url, options, answered) : httpRequest(url, options, answered);
    req.on('error', (err) => settle(failure(err, target.timeoutMs, signal.aborted)));
    req.end(body);
  });
}

function failure(err: unknown, timeoutMs: number, timedOut: boolean): WebhookResult {
  if (isOutboundBlocked(err)) return { status: 'blocked', error: err.message };
  const e = err as Error & { code?: string; cause?: { code?: string } };
  if (timedOut || e.name === 'TimeoutError' || e.name === 'AbortError') return { status: 'timeout', error: `no answer within ${timeoutMs} ms` };
  return { status: 'network', error: e.code ?? e.cause?.code ?? e.message };
}
