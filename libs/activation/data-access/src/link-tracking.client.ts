/**
 * The collector's email tracking (`POST {url}/v1/email/rewrite`): it rewrites an email's links
 * and adds the open pixel (signed, so opens and clicks come back into the same profile).
 */
import { classifyResponse } from '@mosaic/activation-domain';
import { shortError, type EmailSendResult } from './smtp-transports';

export interface LinkTrackingRequest {
  html: string;
  sourceId: string;
  recipient: { userId?: string; email: string };
  campaign: string;
  emailId: string;
}

export class LinkTrackingClient {
  constructor(private readonly opts: { url: string; adminToken: string; timeoutMs: number }) {}

  /** The rewritten HTML, or the failed attempt's result (collector unreachable or failing: retry; refusing: fail). */
  async rewrite(body: LinkTrackingRequest): Promise<{ html: string } | EmailSendResult> {
    let res: Response;
    try {
      res = await fetch(`${this.opts.url.replace(/\/+$/, '')}/v1/email/rewrite`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.opts.adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
      return {
        outcome: 'retry',
        status: timeout ? 'collector-timeout' : 'collector-network',
        error: `link tracking: ${timeout ? `no answer within ${this.opts.timeoutMs} ms` : (e.cause?.code ?? e.message)}`,
      };
    }
    const text = await res.text().catch(() => '');
    if (res.status !== 200) {
      const outcome = classifyResponse(res.status) === 'retry' ? 'retry' : 'fail';
      return { outcome, status: `collector-${res.status}`, error: shortError(`link tracking refused: ${text}`) };
    }
    try {
      const answer = JSON.parse(text) as { html?: unknown };
      if (typeof answer.html !== 'string') throw new Error('no html in the answer');
      return { html: answer.html };
    } catch (err) {
      return { outcome: 'retry', status: 'collector-200', error: `link tracking: unreadable answer (${err instanceof Error ? err.message : String(err)})` };
    }
  }
}
