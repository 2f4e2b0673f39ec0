/**
 * Liquid templates (subjects, email bodies, recipients) rendered with liquidjs, locked down for
 * untrusted templates: output HTML-escaped by default (`| raw` opts out), unknown filters are
 * errors, no file system (`include`, `render` and `layout` find nothing), UTC dates in `en-US`,
 * and limits that count work rather than time — template size, render steps (every loop
 * iteration and every tag, output and HTML piece), output size and memory — so a template is
 * refused the same way on a fast and on a slow machine. The wall clock is only a backstop.
 * The limits are those of a {@link RenderBudget}: one decision or one email shares one budget
 * across all its templates, so splitting work over many strings does not multiply it.
 */
import { Context, type Emitter, type FS, Liquid, type Template, toValue } from 'liquidjs';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import type { JsonObject } from './payload';

/** The largest template accepted (UTF-8 bytes). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;

/** The bounds of one {@link RenderBudget}: all the templates of one decision or of one email together. */
export const RENDER_LIMITS = {
  /**
   * Render steps: each loop iteration, each block rendered, and each tag, output and HTML piece
   * in it. Counted by {@link guardRenderer}: liquidjs 10 declares a `templateLimit` option but
   * does not enforce it.
   */
  steps: 100_000,
  /** Characters written to the output (captures count too). */
  outputChars: 1_000_000,
  /** Objects, strings and array items created by filters and tags (liquidjs' memory units). */
  memory: 10_000_000,
  /** Backstop only, in ms from the budget's first render: the counted limits above stop runaway templates long before it. */
  renderMs: 10_000,
} as const;

/** What a template sees. */
export interface TemplateContext {
  profile: { id: string; traits: JsonObject; computed: JsonObject };
  segment: { key: string; version: number };
  change: { type: 'entered' | 'exited'; at: string };
}

/** Options of `renderTemplate`. */
export interface RenderOptions {
  /** HTML-escape every output (default true); false for plain text such as a subject. */
  escape?: boolean;
  /** The budget this render spends from (default: a fresh one for this template alone). */
  budget?: RenderBudget;
}

/** A template that cannot be parsed, is too large, or fails or exceeds a limit while rendering. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

function noFiles(): never {
  throw new Error('templates cannot read files (include, render and layout are not available)');
}

/** A file system with no files: liquidjs never touches the disk. */
const NO_FILES: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => noFiles(),
  readFileSync: () => noFiles(),
  resolve: (_dir, file) => file,
  contains: async () => false,
  containsSync: () => false,
  dirname: () => '',
  sep: '/',
};

/** liquidjs' own limiters of a context: memory units and the wall-clock deadline. */
type LiquidLimiters = Pick<Context, 'memoryLimit' | 'renderLimit'>;

/** The budget of each liquidjs context, by its memory limiter (shared by every context of one budget). */
const BUDGETS = new WeakMap<LiquidLimiters['memoryLimit'], RenderBudget>();

/**
 * The counted work of one decision or one email: every template rendered with the same budget
 * spends from the same steps, output characters, liquidjs memory units and wall-clock backstop.
 * liquidjs' own `memoryLimit` and `renderLimit` are per `Context`, and each template needs its
 * own context (an `assign` in one string must not reach the next): the contexts of a budget are
 * created with the same liquidjs limiters, which liquidjs' Context constructor accepts.
 */
export class RenderBudget {
  private stepsSpent = 0;
  private outputChars = 0;
  private limiters: LiquidLimiters | undefined;

  /** Render steps spent so far. */
  get steps(): number {
    return this.stepsSpent;
  }

  spend(steps: number): void {
    this.stepsSpent += steps;
    if (this.stepsSpent > RENDER_LIMITS.steps)
      throw new Error(`render steps limit exceeded (more than ${RENDER_LIMITS.steps} loop iterations, tags and outputs in one decision or email)`);
  }

  write(chars: number): void {
    this.outputChars += chars;
    if (this.outputChars > RENDER_LIMITS.outputChars)
      throw new Error(`output size limit exceeded (more than ${RENDER_LIMITS.outputChars} characters in one decision or email)`);
  }

  /** A fresh liquidjs context for one template, with this budget's liquidjs limiters. */
  context(liquid: Liquid, scope: object): Context {
    const ctx = new Context(scope, liquid.options, { sync: true }, { ...this.limiters, liquid });
    this.limiters ??= { memoryLimit: ctx.memoryLimit, renderLimit: ctx.renderLimit };
    BUDGETS.set(ctx.memoryLimit, this);
    return ctx;
  }
}

/** liquidjs' own output conversion (SimpleEmitter), with every character counted. */
class BoundedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly budget: RenderBudget) {}

  write(html: unknown): void {
    const text = stringify(html);
    this.budget.write(text.length);
    this.buffer += text;
  }
}

function stringify(value: unknown): string {
  const v: unknown = toValue(value);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}

/**
 * Every block liquidjs renders — the template itself, each loop iteration, each branch and
 * capture — goes through `renderer.renderTemplates`, so counting there bounds loops whose
 * bodies are empty too. The budget is found by the context's memory limiter, which the
 * contexts liquidjs spawns from ours share too.
 */
function guardRenderer(liquid: Liquid): void {
  const renderer = liquid.renderer;
  const renderTemplates = renderer.renderTemplates.bind(renderer);
  renderer.renderTemplates = function* (templates: Template[], ctx: Context, emitter?: Emitter): IterableIterator<unknown> {
    const budget = BUDGETS.get(ctx.memoryLimit);
    if (!budget) throw new Error('a template is rendered only through renderTemplate (with a render budget)');
    budget.spend(1 + templates.length);
    return (yield* renderTemplates(templates, ctx, emitter ?? new BoundedEmitter(budget))) as unknown;
  };
}

function engine(escape: boolean): Liquid {
  const liquid = new Liquid({
    fs: NO_FILES,
    root: [],
    relativeReference: false,
    cache: false,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    outputEscape: escape ? 'escape' : undefined,
    timezoneOffset: 0,
    locale: 'en-US',
    parseLimit: MAX_TEMPLATE_BYTES,
    renderLimit: RENDER_LIMITS.renderMs,
    memoryLimit: RENDER_LIMITS.memory,
  });
  guardRenderer(liquid);
  return liquid;
}

const ENGINES = { html: engine(true), text: engine(false) };

function checkSize(template: string): void {
  if (typeof template !== 'string') throw new TemplateError('a template must be a string');
  const bytes = Buffer.byteLength(template, 'utf8');
  if (bytes > MAX_TEMPLATE_BYTES) throw new TemplateError(`a template must be at most ${MAX_TEMPLATE_BYTES} bytes (this one has ${bytes})`);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Why a template cannot be used (too large, a syntax error, an unknown filter), or undefined when it parses. */
export function checkTemplate(template: string): string | undefined {
  try {
    checkSize(template);
    ENGINES.text.parse(template);
    return undefined;
  } catch (e) {
    return message(e);
  }
}

/**
 * Renders a Liquid template synchronously. Missing variables render empty; outputs are
 * HTML-escaped unless `escape: false`. Spends from `options.budget` (default: a fresh one).
 * Throws a TemplateError (size, syntax, unknown filter, include, a render limit). Note:
 * `'now' | date` reads the system clock inside liquidjs — pass times through the context
 * (`change.at`) for reproducible output.
 */
export function renderTemplate(template: string, context: TemplateContext, options: RenderOptions = {}): string {
  checkSize(template);
  const escape = options.escape !== false;
  const liquid = escape ? ENGINES.html : ENGINES.text;
  const budget = options.budget ?? new RenderBudget();
  try {
    return String(liquid.renderSync(parsed(liquid, template, escape), budget.context(liquid, context)));
  } catch (e) {
    throw new TemplateError(message(e));
  }
}

/** Parsed templates by engine and text: the decision API renders the same few templates on every request. */
const PARSED = new Map<string, Template[]>();
const MAX_PARSED = 1_000;

function parsed(liquid: Liquid, template: string, escape: boolean): Template[] {
  const key = `${escape ? 'h' : 't'}${template}`;
  let templates = PARSED.get(key);
  if (!templates) {
    templates = liquid.parse(template);
    // insertion order: the oldest goes (the domain cannot use the services' LruMap; a template in use is parsed again at worst)
    if (PARSED.size >= MAX_PARSED) PARSED.delete(PARSED.keys().next().value as string);
    PARSED.set(key, templates);
  }
  return templates;
}

/** The template context for a membership change and the profile as known now. */
export function templateContext(change: SegmentMembershipChange, profile: { traits: JsonObject; computed: JsonObject }): TemplateContext {
  return {
    profile: { id: change.profileId, traits: profile.traits, computed: profile.computed },
    segment: { key: change.segmentKey, version: change.segmentVersion },
    change: { type: change.change, at: change.at },
  };
}
