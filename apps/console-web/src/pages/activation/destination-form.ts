// The destination form's state and the request body it becomes (activation's POST/PUT /v1/destinations).
import type { ActivationDestination, DestinationKind } from '../../api/activation-types';

export interface DestinationForm {
  kind: DestinationKind;
  name: string;
  enabled: boolean;
  url: string;
  /** Extra request headers as JSON (`{"X-Api-Key": "…"}`), empty for none. */
  headers: string;
  timeoutMs: string;
  concurrency: string;
  topic: string;
  smtpHost: string;
  smtpPort: string;
  smtpSecure: boolean;
  smtpUser: string;
  /** Never shown: empty on edit (re-enter it, or the destination keeps none). */
  smtpPassword: string;
  from: string;
  subject: string;
  html: string;
  to: string;
}

export const EMPTY_DESTINATION_FORM: DestinationForm = {
  kind: 'webhook',
  name: '',
  enabled: true,
  url: '',
  headers: '',
  timeoutMs: '',
  concurrency: '',
  topic: '',
  smtpHost: '',
  smtpPort: '587',
  smtpSecure: false,
  smtpUser: '',
  smtpPassword: '',
  from: '',
  subject: '',
  html: '',
  to: '',
};

/** The form of a listed destination (its secret and SMTP password are never put back). */
export function formOf(d: ActivationDestination): DestinationForm {
  return {
    ...EMPTY_DESTINATION_FORM,
    kind: d.kind,
    name: d.name,
    enabled: d.enabled,
    url: d.url ?? '',
    headers: d.headers && Object.keys(d.headers).length > 0 ? JSON.stringify(d.headers, null, 2) : '',
    timeoutMs: d.timeoutMs !== undefined ? String(d.timeoutMs) : '',
    concurrency: d.concurrency !== undefined ? String(d.concurrency) : '',
    topic: d.topic ?? '',
    smtpHost: d.smtp?.host ?? '',
    smtpPort: d.smtp?.port !== undefined ? String(d.smtp.port) : '587',
    smtpSecure: d.smtp?.secure ?? false,
    smtpUser: d.smtp?.user ?? '',
    from: d.from ?? '',
    subject: d.subject ?? '',
    html: d.html ?? '',
    to: d.to ?? '',
  };
}

/** A number field: empty is absent; anything else is sent as typed (the service names what is wrong). */
function numberOrText(v: string): number | string | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  return Number.isFinite(Number(t)) ? Number(t) : t;
}

function withoutAbsent(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
}

/** The request body; throws when the headers are not a JSON object (shown before anything is sent). */
export function destinationBody(f: DestinationForm): Record<string, unknown> {
  const base = { kind: f.kind, name: f.name.trim(), enabled: f.enabled };
  if (f.kind === 'kafka') return { ...base, topic: f.topic.trim() };
  if (f.kind === 'email') {
    const smtp = withoutAbsent({ host: f.smtpHost.trim(), port: numberOrText(f.smtpPort), secure: f.smtpSecure, user: f.smtpUser, password: f.smtpPassword });
    return withoutAbsent({ ...base, smtp, from: f.from.trim(), subject: f.subject, html: f.html, to: f.to.trim() });
  }
  let headers: unknown;
  if (f.headers.trim() !== '') {
    try {
      headers = JSON.parse(f.headers);
    } catch {
      throw new Error('Headers: not valid JSON (an object of header names to values)');
    }
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new Error('Headers: must be a JSON object');
  }
  return withoutAbsent({ ...base, url: f.url.trim(), headers, timeoutMs: numberOrText(f.timeoutMs), concurrency: numberOrText(f.concurrency) });
}
