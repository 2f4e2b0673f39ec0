// Types of import-lib.js (plain CommonJS so the CLI needs no build step).

export interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts. */
  line: number;
  error?: string;
}

export class CsvParser {
  constructor(options?: { delimiter?: string });
  push(text: string): CsvRecord[];
  end(): CsvRecord[];
}

export function parseCsv(text: string, options?: { delimiter?: string }): CsvRecord[];

export type ValueType = 'auto' | 'string' | 'number' | 'boolean' | 'json';
export type ColumnTarget =
  | { kind: 'top'; field: string }
  | { kind: 'identifier'; field: 'email' | 'phone' }
  | { kind: 'externalId'; idType: string }
  | { kind: 'path'; path: string[] }
  | { kind: 'auto'; path: string[] };

export interface Column {
  index: number;
  name: string;
  valueType: ValueType;
  target: ColumnTarget;
}

export function compileHeader(names: string[], maps?: Record<string, string>): { columns: Column[]; problems: string[] };

export function rowToMessage(
  columns: Column[],
  fields: string[],
  defaults?: { type?: string; event?: string },
): { message: Record<string, unknown>; errors?: undefined } | { errors: string[]; message?: undefined };

export function coerce(raw: string, valueType: ValueType): unknown;

export interface Chunk {
  body: string;
  lineOffset: number;
  rows: number;
  firstLine: number;
  lastLine: number;
  bytes: number;
}

export class ChunkBuilder {
  constructor(maxBytes: number, maxGap?: number);
  add(json: string, line: number): Chunk | null;
  flush(): Chunk | null;
}

export function describeRejection(r: { line: number; errors?: (string | { path?: string; code?: string; message?: string })[] }): string;
