/**
 * Activation's replay of a dead delivery (`POST /v1/deliveries/{id}/replay`), through the
 * console's client of the services: how a dead letter of a delivery is sent again.
 */
import { ServicesClient, UpstreamError } from './services.client';

export type DeliveryReplay = { outcome: 'replayed' } | { outcome: 'not_found' | 'not_dead'; message: string };

export class ActivationDeliveries {
  constructor(private readonly client: ServicesClient) {}

  /** `not_dead`: activation holds the delivery but it is pending or delivered (replayed already). Throws `UpstreamError` when activation fails. */
  async replay(deliveryId: string): Promise<DeliveryReplay> {
    const path = `/v1/deliveries/${encodeURIComponent(deliveryId)}/replay`;
    const answer = await this.client.send({ service: 'activation', method: 'POST', path, query: '', body: undefined });
    if (answer.status === 200) return { outcome: 'replayed' };
    const message = `activation: ${errorMessage(answer.body) ?? `status ${answer.status}`}`;
    if (answer.status === 404) return { outcome: 'not_found', message };
    if (answer.status === 409) return { outcome: 'not_dead', message };
    throw new UpstreamError('activation', 'failed', message);
  }
}

/** The message of the services' error body (`{ error: { status, code, message } }`), when there is one. */
function errorMessage(body: Buffer): string | undefined {
  try {
    const m = (JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
