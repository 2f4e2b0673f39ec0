/**
 * Liquid templates (subjects, email bodies, recipients) rendered with liquidjs, locked down for
 * untrusted templates: output HTML-escaped by default (`| raw` opts out), unknown filters are
 * errors, no file system (`include`, `render` and `layout` find nothing), UTC dates in `en-US`,
 * and limits — template size, render time, number of renders, memory.
 */
import { type FS, Liquid, type RenderOptions as LiquidRenderOptions } from 'liquidjs';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import type { JsonObject } from './payload';

/** The largest template accepted (UTF-8 bytes). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;

/** The bounds of one render (liquidjs' DoS limits). */
export const RENDER_LIMITS = {
  /** Wall-clock time of one render, in ms. */
  renderMs: 1_000,
  /** Tags, outputs and HTML pieces rendered in one render (loops count each iteration). */
  templateRenders: 100_000,
  /** Objects, strings and array items created by filters and tags (liquidjs' memory units). */
  memory: 10_000_000,
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

function engine(escape: boolean): Liquid {
  return new Liquid({
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
}

const ENGINES = { html: engine(true), text: engine(false) };
const PER_RENDER: LiquidRenderOptions = { templateLimit: RENDER_LIMITS.templateRenders };

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
 * HTML-escaped unless `escape: false`. Throws a TemplateError (size, syntax, unknown filter,
 * include, a render limit). Note: `'now' | date` reads the system clock inside liquidjs — pass
 * times through the context (`change.at`) for reproducible output.
 */
export function renderTemplate(template: string, context: TemplateContext, options: RenderOptions = {}): string {
  checkSize(template);
  const liquid = options.escape === false ? ENGINES.text : ENGINES.html;
  try {
    return String(liquid.parseAndRenderSync(template, context, PER_RENDER));
  } catch (e) {
    throw new TemplateError(message(e));
  }
}

/** The template context for a membership change and the profile as known now. */
export function templateContext(change: SegmentMembershipChange, profile: { traits: JsonObject; computed: JsonObject }): TemplateContext {
  return {
    profile: { id: change.profileId, traits: profile.traits, computed: profile.computed },
    segment: { key: change.segmentKey, version: change.segmentVersion },
    change: { type: change.change, at: change.at },
  };
}
