// Activation's admin API as the console pages read it (docs/activation.md).
import type { Role } from './types';

export type DestinationKind = 'webhook' | 'kafka' | 'email';

export interface SmtpSettings {
  host: string;
  port: number;
  secure?: boolean;
  user?: string;
  /** Listed as `…` (never shown). */
  password?: string;
}

/** `GET /v1/destinations`: secrets elided (`whsec_abcd…`), SMTP password `…`. */
export interface ActivationDestination {
  id: string;
  kind: DestinationKind;
  name: string;
  enabled: boolean;
  url?: string;
  secret?: string;
  headers?: Record<string, string>;
  rateLimitPerSecond?: number;
  concurrency?: number;
  timeoutMs?: number;
  topic?: string;
  smtp?: SmtpSettings;
  from?: string;
  subject?: string;
  html?: string;
  to?: string;
  createdAt: string;
  updatedAt: string;
}

/** `GET /v1/triggers` */
export interface ActivationTrigger {
  id: string;
  segmentKey: string;
  on: 'entered' | 'exited';
  destinationId: string;
  delaySeconds: number;
  frequencyCap: { max: number; perSeconds: number } | null;
  enabled: boolean;
  createdAt: string;
}

export interface DeliveryAttempt {
  at: string;
  outcome: 'delivered' | 'retry' | 'fail';
  /** HTTP status, or `timeout` / `network` / `error`. */
  status: string;
  ms: number;
  error?: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'skipped';

/** `GET /v1/deliveries` (newest first), with every attempt. */
export interface ActivationDelivery {
  id: string;
  destinationId: string;
  triggerId: string;
  profileId: string;
  segmentKey: string;
  change: string;
  status: DeliveryStatus;
  skipReason?: string;
  attempts: number;
  dueAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  log: DeliveryAttempt[];
}

/** `GET /v1/experiences`: the experience as stored, with its times. */
export interface ActivationExperience {
  id: string;
  slot: string;
  name: string;
  enabled: boolean;
  holdoutPercent: number;
  rules: { id: string; when?: unknown; content: unknown }[];
  default: unknown;
  createdAt: string;
  updatedAt: string;
}

/** One slot of `POST /v1/experiences/preview` (the shape of `/v1/decide`, plus why a template failed). */
export interface SlotDecision {
  html?: string;
  text?: string;
  json?: unknown;
  experienceId: string;
  ruleId: string | null;
  holdout: boolean;
  error?: string;
}

export interface DecisionPreview {
  profileId: string;
  segments: string[];
  slots: Record<string, SlotDecision>;
}

/** The console's `GET /api/users` */
export interface ConsoleUser {
  username: string;
  role: Role;
  createdAt: string;
}
