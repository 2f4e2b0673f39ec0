import { CollectorInputError, parseJsonBody, rewriteEmailHtml, validateRewriteRequest, type EmailTokenSigner } from '@mosaic/collector-domain';
import type { WriteKeyCache } from '@mosaic/collector-data-access';
import { ApiError } from '@mosaic/shared-service';

export interface RewriteEmailOptions {
  /** Default lifetime of the links, in days. */
  ttlDays: number;
  /** Base URL of the rewritten links (default: the request's own origin). */
  publicUrl?: string;
}

/** `POST /v1/email/rewrite` (admin): one recipient's HTML with tracked links and the open pixel. */
export class RewriteEmail {
  constructor(
    private readonly signer: EmailTokenSigner,
    private readonly sources: WriteKeyCache,
    private readonly options: RewriteEmailOptions,
  ) {}

  /** `body` is the raw request body; `origin` the request's `protocol://host`. */
  async execute(body: Buffer, origin: string): Promise<{ html: string; links: number }> {
    const parsed = validateRewriteRequest(jsonBody(body));
    if (!parsed.ok) throw new ApiError(400, 'invalid_body', parsed.problems.join('; '), { problems: parsed.problems });
    const v = parsed.value;
    if (!(await this.sources.active(v.sourceId))) throw new ApiError(400, 'invalid_source', `sourceId: ${v.sourceId} is not an active source`);
    return rewriteEmailHtml(v.html, {
      recipient: v.recipient,
      sourceId: v.sourceId,
      campaign: v.campaign,
      emailId: v.emailId,
      baseUrl: this.options.publicUrl ?? origin,
      signer: this.signer,
      expiresInDays: v.expiresInDays ?? this.options.ttlDays,
    });
  }
}

function jsonBody(body: Buffer): unknown {
  try {
    return parseJsonBody(body.toString('utf8'));
  } catch (err) {
    if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
}
