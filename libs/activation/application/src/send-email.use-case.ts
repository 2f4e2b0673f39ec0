/**
 * Email destinations: renders the destination's Liquid templates with the profile (subject and
 * recipient as plain single lines, the HTML body HTML-escaped), has the collector rewrite the
 * links and add the open pixel (signed email tracking, so opens and clicks come back into the
 * same profile), and sends over SMTP through a pooled transport per destination.
 *
 * Outcomes: accepted by the server → delivered; SMTP 4xx (and 503), connection errors and
 * timeouts, an unreachable or failing collector → retry; SMTP 5xx, a template that does not
 * render (or renders too large), a recipient that is not exactly one address, a collector that
 * refuses the request, an SMTP host or resolved address the outbound policy refuses
 * (`blocked`) → fail.
 */
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { messageIdFor, renderEmail, templateContext, type EmailDestination, type MembershipPayload, type RenderedEmail } from '@mosaic/activation-domain';
import {
  classifySmtpError,
  LinkTrackingClient,
  OutboundGuard,
  shortError,
  SmtpTransports,
  type DeliveryDocument,
  type EmailSendResult,
} from '@mosaic/activation-data-access';

/** The logger the sender writes to (pino's shape). */
export interface EmailLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SendEmailOptions {
  /** The collector's email tracking (`POST {url}/v1/email/rewrite`); no rewriting without a `sourceId`. */
  collector?: { url: string; adminToken: string; sourceId?: string };
  logger?: EmailLogger;
  /** Connection, greeting and socket timeouts of SMTP, and the collector call's timeout (default 10 000 ms). */
  timeoutMs?: number;
  /** SMTP connections per destination at most (default 4, the dispatcher's slots per destination). */
  maxConnections?: number;
  /** Where SMTP may connect (default: public addresses only). */
  outbound?: OutboundGuard;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_CAMPAIGN_LENGTH = 512;

/** Renders, rewrites for tracking and sends the email of one delivery; never throws. */
export class SendEmail {
  private readonly smtp: SmtpTransports;
  private readonly tracking: LinkTrackingClient | undefined;
  private readonly sourceId: string | undefined;
  private warnedNoTracking = false;

  constructor(private readonly opts: SendEmailOptions = {}) {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.smtp = new SmtpTransports({ timeoutMs, maxConnections: opts.maxConnections ?? 4, outbound: opts.outbound ?? new OutboundGuard() });
    const collector = opts.collector;
    if (collector?.url && collector.sourceId) {
      this.tracking = new LinkTrackingClient({ url: collector.url, adminToken: collector.adminToken, timeoutMs });
      this.sourceId = collector.sourceId;
    }
  }

  /** Sends the email of `delivery` to the profile (the dispatcher's `sendEmail`). */
  readonly send = async (dest: EmailDestination, delivery: DeliveryDocument, payload: MembershipPayload): Promise<EmailSendResult> => {
    let email: RenderedEmail;
    try {
      email = render(dest, delivery, payload);
    } catch (err) {
      return { outcome: 'fail', status: 'render', error: shortError(err instanceof Error ? err.message : String(err)) };
    }
    const rewritten = await this.track(email, dest, delivery, payload);
    if ('outcome' in rewritten) return rewritten;
    try {
      const mail = {
        from: dest.from,
        to: email.to, // {name, address}: nodemailer encodes the name, never parses it for addresses
        subject: email.subject,
        html: rewritten.html,
        messageId: messageIdFor(delivery._id, dest.from),
        headers: { 'X-Mosaic-Delivery': delivery._id },
      };
      return { outcome: 'delivered', status: await this.smtp.send(dest, mail) };
    } catch (err) {
      return classifySmtpError(err);
    }
  };

  /** Closes every pooled SMTP connection (shutdown). */
  async close(): Promise<void> {
    this.smtp.close();
  }

  /** The rewritten HTML, or the failed attempt's result. */
  private async track(
    email: RenderedEmail,
    dest: EmailDestination,
    delivery: DeliveryDocument,
    payload: MembershipPayload,
  ): Promise<{ html: string } | EmailSendResult> {
    if (!this.tracking || !this.sourceId) {
      if (!this.warnedNoTracking) {
        this.warnedNoTracking = true;
        this.opts.logger?.warn(
          { collectorUrl: this.opts.collector?.url },
          'email link tracking is off (no ACTIVATION_EMAIL_SOURCE_ID): emails are sent without rewritten links or an open pixel',
        );
      }
      return { html: email.html };
    }
    const userId = payload.data.identifiers.userId;
    return this.tracking.rewrite({
      html: email.html,
      sourceId: this.sourceId,
      recipient: { ...(userId ? { userId } : {}), email: email.to.address },
      campaign: dest.name.trim() !== '' && dest.name.length <= MAX_CAMPAIGN_LENGTH ? dest.name : dest.id,
      emailId: delivery._id,
    });
  }
}

/** The email of a delivery, rendered with its profile. Throws an EmailRenderError. */
function render(dest: EmailDestination, delivery: DeliveryDocument, payload: MembershipPayload): RenderedEmail {
  const change = JSON.parse(delivery.membership) as SegmentMembershipChange;
  // The membership change carries the main identifiers: a profile whose profiles.changes has
  // not arrived yet (another topic) or that has no email trait still has its address.
  const known = payload.data.profile ?? { traits: {}, computed: {} };
  const email = change.identifiers.email;
  const profile = email && known.traits['email'] === undefined ? { ...known, traits: { email, ...known.traits } } : known;
  return renderEmail(dest, templateContext(change, profile));
}
