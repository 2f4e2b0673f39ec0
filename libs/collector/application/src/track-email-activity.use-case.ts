import {
  buildEmailEvent,
  classifyEmailActivity,
  emailActivityKey,
  tokenDigest,
  type EmailActivityMemory,
  type EmailTokenClaims,
  type EmailTokenKind,
  type EmailTokenSigner,
  type Ingestor,
  type MachineRules,
} from '@mosaic/collector-domain';
import type { WriteKeyCache } from '@mosaic/collector-data-access';
import type { Counter, Logger } from '@mosaic/shared-logging';

/** What an open or click request tells about itself. */
export interface EmailActivityRequest {
  kind: EmailTokenKind;
  token: string;
  method: string;
  ip?: string;
  userAgent?: string;
}

/**
 * Email opens and clicks: verifies the token, classifies machine activity, records the
 * event through the Ingestor (same de-duplication and Kafka acknowledgement as every other
 * event). Recording never changes what the recipient gets: the pixel is always a GIF, a
 * valid click always redirects to its signed URL, even when Kafka is away (then the event
 * is lost and counted in `mosaic_collector_email_total{outcome="failed"}`).
 */
export class TrackEmailActivity {
  constructor(
    private readonly signer: EmailTokenSigner,
    private readonly ingestor: Ingestor,
    private readonly sources: WriteKeyCache,
    private readonly memory: EmailActivityMemory,
    private readonly rules: MachineRules,
    private readonly counter: Counter<'kind' | 'outcome'>,
    private readonly logger: Logger,
  ) {}

  /** Verifies and records; returns the verified claims (or undefined for a bad token). */
  async execute(req: EmailActivityRequest): Promise<EmailTokenClaims | undefined> {
    const { kind, token } = req;
    const verified = this.signer.verify(token, kind);
    if (!verified.ok) {
      this.counter.inc({ kind, outcome: 'invalid_token' });
      this.logger.debug({ kind, reason: verified.reason, token: tokenDigest(token) }, 'email token refused');
      return undefined;
    }
    try {
      await this.record(req, verified.claims);
    } catch (err) {
      this.counter.inc({ kind, outcome: 'failed' });
      this.logger.warn({ err, kind, token: tokenDigest(token) }, 'email event not recorded');
    }
    return verified.claims;
  }

  private async record(req: EmailActivityRequest, claims: EmailTokenClaims): Promise<void> {
    const { kind, token } = req;
    const source = await this.sources.active(claims.sourceId);
    if (!source) {
      this.counter.inc({ kind, outcome: 'inactive_source' });
      return;
    }
    const receivedAt = new Date();
    const nowMs = receivedAt.getTime();
    const key = emailActivityKey(claims);
    const memo =
      kind === 'open'
        ? { openedAtMs: this.memory.recordOpen(key, nowMs) }
        : this.memory.recordClick(key, claims.url ?? '', this.rules.burstWindowSeconds * 1000, nowMs);
    const verdict = classifyEmailActivity(
      { kind, method: req.method, userAgent: req.userAgent, ip: req.ip, issuedAtMs: claims.issuedAt * 1000, nowMs, ...memo },
      this.rules,
    );
    const event = buildEmailEvent({ claims, token, verdict, receivedAt, request: { ip: req.ip, userAgent: req.userAgent } });
    const outcome = await this.ingestor.ingest([event]);
    this.counter.inc({ kind, outcome: outcome.published ? (verdict.machine ? 'machine' : 'recorded') : 'duplicate' });
  }
}
