// Types of segments-lib.js (plain CommonJS so the CLI needs no build step).

/** A segment definition as read from a file (validated by the server, not here). */
export type Definition = { key: string; condition?: unknown } & Record<string, unknown>;

/** A problem to show: where (file, or file[index] / file (document n)), segment, JSON path, message. */
export interface Problem {
  file: string;
  key?: string;
  path?: string;
  message: string;
}

export interface Entry {
  key: string;
  /** The file name. */
  file: string;
  /** `a.json`, `a.json[2]`, `a.yaml (document 2)`, `a.yaml (document 2)[0]`. */
  where: string;
  definition: Definition;
}

/** Parses every document of a YAML text (see yamlLoader). */
export type YamlLoadAll = (text: string, file: string) => unknown[];

export function isDefinitionFile(name: string): boolean;
export function yamlLoader(jsYaml: { loadAll: (...args: never[]) => unknown; CORE_SCHEMA: unknown }): YamlLoadAll;
export function parseDefinitionFile(file: string, text: string, loadYamlAll?: YamlLoadAll): { entries: Entry[]; errors: Problem[] };
export function collectDefinitions(files: { name: string; text: string }[], loadYamlAll?: YamlLoadAll): { entries: Entry[]; errors: Problem[] };

export function canonicalJson(value: unknown): string;
export function sameDefinition(a: unknown, b: unknown): boolean;

/** Hands in the segmentation domain's reference graph (libs/segmentation/domain/src/reference-graph.ts); once, before the functions below. */
export function useReferenceGraph(mod: {
  referencesOf(definition: unknown): { segment: string; path: string }[];
  analyzeReferenceGraph(graph: ReadonlyMap<string, readonly { segment: string; path: string }[]>): {
    order: string[];
    cycles: { key: string; path: string; cycle: string[]; message: string }[];
  };
}): void;
export function segmentReferences(definition: unknown): { segment: string; path: string }[];
/** Keys in write order (referenced first); throws naming the cycle. */
export function referenceOrder(definitions: { key: string; definition: unknown }[]): string[];

export interface ServerSegment {
  key: string;
  version: number;
  status: 'active' | 'disabled' | string;
  definition: Definition;
  /** Who wrote the current version (`admin-api`, `clustering:<job>`). */
  updatedBy?: string;
}

/** The clustering job's segments (`clustering:<job>` / a `cluster` condition): never pruned. */
export function isManagedSegment(s: ServerSegment): boolean;

export type PlanAction =
  | { key: string; action: 'create'; file: string; definition: Definition; changesDefinition: true; enables: false; newVersion: null }
  | {
      key: string;
      action: 'update' | 'enable' | 'unchanged';
      file: string;
      definition: Definition;
      current: Definition;
      version: number;
      status: string;
      changesDefinition: boolean;
      enables: boolean;
      /** The version after the writes (+1 per write: update, enable). */
      newVersion: number;
    }
  | {
      key: string;
      action: 'disable';
      file: null;
      current: Definition;
      version: number;
      status: string;
      changesDefinition: false;
      enables: false;
      newVersion: number;
    };

export interface Plan {
  actions: PlanAction[];
  errors: Problem[];
  warnings: Problem[];
  /** Active server segments not in the directory (left alone without --prune), clustering segments excepted. */
  extra: string[];
}

export function computePlan(entries: Entry[], server: ServerSegment[], options?: { prune?: boolean }): Plan;

export function alignKeys<T>(value: T, template: unknown): T;
export function lineDiff(before: string, after: string, context?: number): string[];
export function definitionDiff(current: unknown, next: unknown, context?: number): string[];
export function formatPlan(plan: Pick<Plan, 'actions'>, options?: { indent?: string; context?: number }): string[];
export function formatProblem(p: Partial<Problem> & { message: string }): string;
export function isReferenceProblem(p: { path?: string; message?: string }): boolean;

export interface Backfill {
  version: number;
  status: 'running' | 'done' | 'failed' | string;
  total: number;
  processed: number;
  changed?: number;
  published?: number;
  fraction?: number;
  ratePerSecond?: number;
  etaSeconds?: number | null;
  startedAt?: string;
  finishedAt?: string | null;
  error?: string | null;
}

export interface ApplyResult {
  action: PlanAction['action'];
  enables?: boolean;
  /** `skipped`: not written because a segment it refers to failed. */
  outcome?: 'ok' | 'failed' | 'skipped' | 'planned';
  backfill?: Backfill | null;
}

export interface Summary {
  created: number;
  updated: number;
  enabled: number;
  disabled: number;
  unchanged: number;
  failed: number;
  backfills: { done: number; failed: number; unfinished: number };
}

export function summarize(results: ApplyResult[]): Summary;
export function exitCodeOf(summary: Summary): 0 | 1;
export function describeBackfill(b: Backfill | null | undefined): string;
export function formatSegmentTable(
  segments: { key: string; version: number; status: string; size?: number; backfill?: Backfill | null; notEvaluated?: string }[],
): string[];
