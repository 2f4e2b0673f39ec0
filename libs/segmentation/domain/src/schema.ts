/**
 * The segment definition language as a JSON Schema (draft 2020-12), for editors, the admin
 * API's OpenAPI document and clients. `validateDefinition` is the authority (it also checks
 * what a schema cannot say well: operand types per operator, date strings, window length);
 * a spec keeps the two consistent (every example passes the validator).
 */
import { AGGREGATE_FNS, AGGREGATE_OPS, DURATION_UNITS, KEY_PATTERN, LIMITS, OPERATORS, TIME_RELATIVE_OPERATORS } from './definition';

/** Example definitions (the seed scenarios of the segmentation issue among them). */
export const SEGMENT_EXAMPLES = [
  {
    key: 'high-ltv',
    name: 'Lifetime value over 500',
    condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 },
  },
  {
    key: 'premium-coffee-machine-browsers',
    name: 'Viewed premium coffee machines 3 times in 7 days',
    condition: {
      event: 'Product Viewed',
      where: [
        { property: 'category', op: 'equals', value: 'coffee machines' },
        { property: 'price', op: 'gte', value: 500 },
      ],
      aggregate: { fn: 'count', op: 'gte', value: 3 },
      within: { amount: 7, unit: 'days' },
    },
  },
  {
    key: 'abandoned-cart',
    name: 'Added to cart and no order within 2 hours',
    condition: {
      sequence: {
        first: { event: 'Product Added' },
        thenNot: { event: 'Order Completed' },
        within: { amount: 2, unit: 'hours' },
      },
    },
  },
  {
    key: 'big-spender-30d',
    name: 'Spent over 500 in the last 30 days',
    condition: {
      event: 'Order Completed',
      aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 500 },
      within: { amount: 30, unit: 'days' },
    },
  },
  {
    key: 'active-7d',
    name: 'Active in the last 7 days',
    condition: { attribute: 'lastSeen', op: 'withinLastDays', value: 7 },
  },
  {
    key: 'vip-offer',
    description: 'Big spenders who are not on the free plan and like coffee; at most one offer segment per profile.',
    priority: 10,
    exclusivityGroup: 'offers',
    condition: {
      all: [
        { segment: 'big-spender-30d' },
        { not: { trait: 'plan', op: 'in', value: ['free', 'trial'] } },
        {
          any: [
            { attribute: 'categoryAffinity.coffee', op: 'gte', value: 2.5 },
            { attribute: 'priceTier', op: 'equals', value: 'premium' },
          ],
        },
        { trait: 'email', op: 'exists' },
      ],
    },
  },
  {
    key: 'watched-most-of-barista-duo',
    name: 'Watched at least 75% of the Barista Duo video',
    condition: { attribute: 'video.videos.CM-900-demo.shareWatched', op: 'gte', value: 0.75 },
  },
  {
    key: 'video-skippers-7d',
    name: 'Skipped more than half of a video in the last 7 days',
    condition: {
      elements: 'video.sessions',
      where: [
        { property: 'skippedShare', op: 'gt', value: 0.5 },
        { property: 'lastAt', op: 'withinLastDays', value: 7 },
      ],
    },
  },
  {
    key: 'product-video-fans-30d',
    name: 'Watched 3 or more product videos in the last 30 days',
    condition: {
      elements: 'video.videos',
      where: [
        { property: 'productId', op: 'exists' },
        { property: 'watchedSeconds', op: 'gt', value: 0 },
        { property: 'lastWatchedAt', op: 'withinLastDays', value: 30 },
      ],
      count: { op: 'gte', value: 3 },
    },
  },
] as const;

const key = { type: 'string', minLength: 1, maxLength: LIMITS.maxKeyLength, pattern: KEY_PATTERN };
const str = { type: 'string', minLength: 1, maxLength: LIMITS.maxStringLength };
const scalar = { oneOf: [{ type: 'string', maxLength: LIMITS.maxStringLength }, { type: 'number' }, { type: 'boolean' }] };
const dottedPath = { ...str, pattern: '^[^.]+(\\.[^.]+)*$' };
const operand = {
  oneOf: [scalar, { type: 'array', minItems: 1, maxItems: LIMITS.maxListItems, items: scalar }],
  description:
    'equals/notEquals/contains: a scalar; startsWith: a string; in/notIn: a list; gt/gte/lt/lte: a number or an ISO-8601 date; between: [low, high]; withinLastDays/olderThanDays: days; exists/notExists: none',
};

/** JSON Schema (draft 2020-12) of a segment definition. */
export const SEGMENT_DEFINITION_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mosaic.dev/schemas/segment-definition.json',
  title: 'Mosaic segment definition',
  description: `A segment: a key and a condition. Conditions nest at most ${LIMITS.maxDepth} deep, at most ${LIMITS.maxConditions} per definition; strings at most ${LIMITS.maxStringLength} characters.`,
  type: 'object',
  additionalProperties: false,
  required: ['key', 'condition'],
  properties: {
    key,
    name: str,
    description: str,
    priority: { type: 'number', minimum: -1e9, maximum: 1e9, description: 'Higher wins within an exclusivity group (default 0).' },
    exclusivityGroup: key,
    condition: { $ref: '#/$defs/condition' },
  },
  examples: SEGMENT_EXAMPLES,
  $defs: {
    condition: {
      oneOf: [
        { $ref: '#/$defs/all' },
        { $ref: '#/$defs/any' },
        { $ref: '#/$defs/not' },
        { $ref: '#/$defs/trait' },
        { $ref: '#/$defs/attribute' },
        { $ref: '#/$defs/elements' },
        { $ref: '#/$defs/event' },
        { $ref: '#/$defs/sequence' },
        { $ref: '#/$defs/segment' },
        { $ref: '#/$defs/cluster' },
      ],
    },
    all: {
      type: 'object',
      additionalProperties: false,
      required: ['all'],
      properties: { all: { type: 'array', minItems: 1, items: { $ref: '#/$defs/condition' } } },
    },
    any: {
      type: 'object',
      additionalProperties: false,
      required: ['any'],
      properties: { any: { type: 'array', minItems: 1, items: { $ref: '#/$defs/condition' } } },
    },
    not: { type: 'object', additionalProperties: false, required: ['not'], properties: { not: { $ref: '#/$defs/condition' } } },
    trait: {
      type: 'object',
      additionalProperties: false,
      required: ['trait', 'op'],
      properties: { trait: str, op: { enum: [...OPERATORS] }, value: operand },
    },
    attribute: {
      type: 'object',
      additionalProperties: false,
      required: ['attribute', 'op'],
      description:
        'A path under the computed attributes; inside a list, a segment selects the element by category/key/productId/name (categoryAffinity.coffee is the coffee score).',
      properties: { attribute: dottedPath, op: { enum: [...OPERATORS] }, value: operand },
    },
    elements: {
      type: 'object',
      additionalProperties: false,
      required: ['elements'],
      description:
        'How many elements of a list under the computed attributes (video.videos, video.sessions) match every filter (paths under the element; withinLastDays/olderThanDays allowed); default count ≥ 1.',
      properties: {
        elements: dottedPath,
        where: {
          type: 'array',
          maxItems: LIMITS.maxFilters,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['property', 'op'],
            properties: { property: dottedPath, op: { enum: [...OPERATORS] }, value: operand },
          },
        },
        count: {
          type: 'object',
          additionalProperties: false,
          required: ['op', 'value'],
          properties: { op: { enum: [...AGGREGATE_OPS] }, value: { type: 'integer', minimum: 0 } },
        },
      },
    },
    propertyFilter: {
      type: 'object',
      additionalProperties: false,
      required: ['property', 'op'],
      properties: { property: dottedPath, op: { enum: OPERATORS.filter((o) => !TIME_RELATIVE_OPERATORS.includes(o)) }, value: operand },
    },
    where: { type: 'array', maxItems: LIMITS.maxFilters, items: { $ref: '#/$defs/propertyFilter' } },
    duration: {
      type: 'object',
      additionalProperties: false,
      required: ['amount', 'unit'],
      description: `At most ${LIMITS.maxWindowDays} days.`,
      properties: { amount: { type: 'integer', minimum: 1 }, unit: { enum: [...DURATION_UNITS] } },
    },
    aggregate: {
      type: 'object',
      additionalProperties: false,
      required: ['fn', 'op', 'value'],
      description: 'count takes no property; sum/min/max need a numeric property.',
      properties: { fn: { enum: [...AGGREGATE_FNS] }, property: dottedPath, op: { enum: [...AGGREGATE_OPS] }, value: { type: 'number' } },
    },
    event: {
      type: 'object',
      additionalProperties: false,
      required: ['event', 'within'],
      description: 'Matching events in the rolling window; the default aggregate is count ≥ 1.',
      properties: { event: str, where: { $ref: '#/$defs/where' }, aggregate: { $ref: '#/$defs/aggregate' }, within: { $ref: '#/$defs/duration' } },
    },
    eventStep: {
      type: 'object',
      additionalProperties: false,
      required: ['event'],
      properties: { event: str, where: { $ref: '#/$defs/where' } },
    },
    sequence: {
      type: 'object',
      additionalProperties: false,
      required: ['sequence'],
      properties: {
        sequence: {
          type: 'object',
          additionalProperties: false,
          required: ['first', 'thenNot', 'within'],
          description: '`first` happened and no `thenNot` followed it within `within`.',
          properties: { first: { $ref: '#/$defs/eventStep' }, thenNot: { $ref: '#/$defs/eventStep' }, within: { $ref: '#/$defs/duration' } },
        },
      },
    },
    segment: { type: 'object', additionalProperties: false, required: ['segment'], properties: { segment: key } },
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['cluster', 'index'],
      description: 'In cluster `index` of the clustering job `cluster` (the job assigns profiles; its segments use this condition).',
      properties: { cluster: key, index: { type: 'integer', minimum: 0, maximum: 49 } },
    },
  },
} as const;
