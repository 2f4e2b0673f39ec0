/** The shapes and bounds of an experience (see ./experiences.ts). */
import type { JsonObject } from './payload';

/** The comparison operators of rule conditions. */
export const EXPERIENCE_OPS = ['equals', 'notEquals', 'in', 'notIn', 'contains', 'exists', 'notExists', 'gt', 'gte', 'lt', 'lte'] as const;
/** A comparison operator. */
export type ExperienceOp = (typeof EXPERIENCE_OPS)[number];

/** A value a condition compares with. */
export type ExperienceScalar = string | number | boolean;

/**
 * A comparison of one value with `value` (typed strictly: no coercion between numbers and
 * strings). A missing value (absent or null) matches only `notExists`, `notEquals` and `notIn`.
 */
export type Comparison =
  | { op: 'equals' | 'notEquals' | 'contains'; value: ExperienceScalar }
  | { op: 'in' | 'notIn'; value: ExperienceScalar[] }
  | { op: 'exists' | 'notExists'; value?: undefined }
  | { op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string };

/** A comparison of a trait (by name, `profile.traits[trait]`). */
export type TraitCondition = { trait: string } & Comparison;
/** A comparison of a computed attribute (a dotted path under `profile.computed`: `orders.count`). */
export type AttributeCondition = { attribute: string } & Comparison;

/** Segment membership: in all of `all`, in at least one of `any`, in none of `none`. */
export interface SegmentsCondition {
  all?: string[];
  any?: string[];
  none?: string[];
}

/** When a rule applies: every part given must hold; an empty `when` always holds. */
export interface ExperienceWhen {
  segments?: SegmentsCondition;
  traits?: TraitCondition[];
  attributes?: AttributeCondition[];
}

/**
 * Exactly one of: `html` (Liquid, outputs HTML-escaped), `text` (Liquid, not escaped — the
 * caller shows it as text), `json` (an object whose string values are Liquid templates,
 * rendered without escaping).
 */
export type ExperienceContent =
  { html: string; text?: never; json?: never } | { text: string; html?: never; json?: never } | { json: JsonObject; html?: never; text?: never };

/** The content kinds. */
export const CONTENT_KINDS = ['html', 'text', 'json'] as const;

/** One rule of an experience. */
export interface ExperienceRule {
  id: string;
  when?: ExperienceWhen;
  content: ExperienceContent;
}

/** An experience (validated by `validateExperience`). */
export interface Experience {
  id: string;
  slot: string;
  name: string;
  /** A disabled experience decides nothing (default true). */
  enabled: boolean;
  /** The percentage of visitors (0–100, default 0) who always get the default: the control group. */
  holdoutPercent: number;
  /** In order: the first that matches wins (default none). */
  rules: ExperienceRule[];
  default: ExperienceContent;
}

/** Bounds of experience fields. */
export const EXPERIENCE_LIMITS = {
  maxRules: 20,
  /** Per content (UTF-8 bytes; for JSON, of its compact serialization). */
  maxContentBytes: 16 * 1024,
  /** Nesting of JSON content (the object itself is depth 1). */
  maxJsonDepth: 5,
  /** Segment keys per list, conditions per list, values of `in`/`notIn`. */
  maxListItems: 50,
  maxValueLength: 256,
} as const;
