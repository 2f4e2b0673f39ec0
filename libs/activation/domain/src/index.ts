export type { ValidationError, ValidationResult } from '@mosaic/shared-validation';
export {
  sign,
  verify,
  generateSecret,
  webhookHeaders,
  decodeSecret,
  isWebhookSecret,
  parseSignatures,
  SECRET_PREFIX,
  MIN_SECRET_BYTES,
  MAX_SECRET_BYTES,
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_VERSION,
} from './webhooks';
export type { WebhookHeaders, SignInput, VerifyFailure, VerifyResult, HeaderBag } from './webhooks';
export {
  classifyResponse,
  backoffCeilingMs,
  retryDelayMs,
  parseRetryAfter,
  parseHttpDate,
  RetryPolicy,
  DEFAULT_RETRY_POLICY,
  RETRYABLE_STATUSES,
} from './retry';
export type { DeliveryOutcome, AttemptResult, RetryPolicyConfig, BackoffOptions } from './retry';
export { validateTrigger, matchTriggers, deliveryId, dueAt, frequencyAllows, sendsInWindow, TRIGGER_ON, TRIGGER_LIMITS } from './triggers';
export type { Trigger, TriggerOn, FrequencyCap, MembershipChangeLike } from './triggers';
export { membershipPayload, serializePayload, eventTypeOf } from './payload';
export type { MembershipPayload, MembershipEventType, PayloadProfile, PayloadReason, JsonObject } from './payload';
export {
  validateDestination,
  webhookUrlProblem,
  isKafkaTopic,
  reservedTopicProblem,
  isMailbox,
  parseMailbox,
  isForbiddenHeader,
  DESTINATION_KINDS,
  DESTINATION_DEFAULTS,
  DESTINATION_LIMITS,
  FORBIDDEN_HEADERS,
} from './destinations';
export type { DestinationValidationOptions, Mailbox } from './destinations';
export { classifyAddress, normaliseHost, outboundHostProblem, outboundAddressProblem, OutboundAllowList, METADATA_HOSTS } from './address-policy';
export type { AddressVerdict } from './address-policy';
export type { Destination, DestinationKind, DestinationBase, WebhookDestination, EmailDestination, KafkaDestination, SmtpConfig } from './destinations';
export { renderTemplate, checkTemplate, templateContext, TemplateError, RenderBudget, MAX_TEMPLATE_BYTES, RENDER_LIMITS } from './render';
export type { TemplateContext, RenderOptions } from './render';
export {
  validateExperience,
  decide,
  decideSlots,
  compareValue,
  matchesWhen,
  readAttribute,
  renderContent,
  decisionContext,
  holdoutBucket,
  stableVisitorId,
  DecisionMemo,
  slotAnswers,
  enabledSlots,
  EXPERIENCE_OPS,
  EXPERIENCE_LIMITS,
  CONTENT_KINDS,
} from './experiences';
export type {
  Experience,
  ExperienceRule,
  ExperienceWhen,
  ExperienceContent,
  ExperienceOp,
  ExperienceScalar,
  Comparison,
  TraitCondition,
  AttributeCondition,
  SegmentsCondition,
  Visitor,
  Decision,
  DecisionContent,
  DecisionContext,
  DecideOptions,
  SlotAnswer,
} from './experiences';
export { SourceDirectory, userHashOf, verifyUserHash, originAllowed, profileVisibleTo } from './decide-access';
export type { SourceAccess } from './decide-access';
export { headerLine, messageIdFor, renderEmail, EmailRenderError, MAX_EMAIL_HTML_BYTES } from './email';
export type { RenderedEmail } from './email';
export { foldMembershipChanges } from './membership-fold';
export type { FoldedMembership, MembershipStep } from './membership-fold';
