/**
 * One request of a console user through the proxy to a service: the path made canonical, the
 * role checked against the access policy on that same path, then the request sent with the
 * admin token. The policy and the service always see the same path.
 */
import { canonicalPath, isProxiedService, mayForward, refusalMessage, type ConsoleUser } from '@mosaic/console-domain';
import type { ServicesClient, UpstreamAnswer } from '@mosaic/console-data-access';

export interface ProxiedRequest {
  user: ConsoleUser;
  service: string;
  method: string;
  /** The path after `/api/svc/<service>`, as received. */
  rawPath: string;
  query: string;
  body: unknown;
  idempotencyKey?: string;
}

export type ForwardOutcome = { ok: true; answer: UpstreamAnswer } | { ok: false; reason: 'unknown_service' | 'invalid_path' | 'forbidden'; message: string };

export class ForwardRequest {
  constructor(private readonly client: ServicesClient) {}

  /** The service's answer, or why the request was not sent. Throws `UpstreamError` when the service cannot be reached. */
  async execute(req: ProxiedRequest): Promise<ForwardOutcome> {
    const { service, user } = req;
    if (!isProxiedService(service))
      return { ok: false, reason: 'unknown_service', message: `unknown service ${service} (one of collector, identity, enrichment, segmentation, activation)` };
    const canonical = canonicalPath(req.rawPath);
    if (!canonical.ok) return { ok: false, reason: 'invalid_path', message: canonical.reason };
    const method = req.method.toUpperCase();
    if (!mayForward(user.role, service, method, canonical.path)) {
      return { ok: false, reason: 'forbidden', message: refusalMessage(user.role, service, method, canonical.path) };
    }
    const answer = await this.client.send({ service, method, path: canonical.path, query: req.query, body: req.body, idempotencyKey: req.idempotencyKey });
    return { ok: true, answer };
  }
}
