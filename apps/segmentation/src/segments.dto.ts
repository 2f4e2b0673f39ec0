/**
 * The segments API's query parameters and responses. Query parameters are validated with
 * class-validator; a problem is a 400 `invalid_request` naming the parameter and what it
 * takes. Definitions themselves are validated by the domain (errors by JSON path).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { IsOptional, ValidateBy, validateSync } from 'class-validator';
import { ApiError } from '@mosaic/shared-service';
import { MAX_LIST_LIMIT } from '@mosaic/segmentation-domain';

/** Member ids per page when `limit` is absent. */
export const DEFAULT_MEMBERS_LIMIT = 100;

/** An integer parameter from `min` to `max`; absent or empty (when `emptyOk`) takes the default. */
function IntParam(
  min: number,
  max: number,
  message: (name: string) => string = (name) => `${name}: must be an integer from ${min} to ${max}`,
  emptyOk = true,
): PropertyDecorator {
  return ValidateBy({
    name: 'intParam',
    validator: {
      validate: (v: unknown) => (emptyOk && v === '') || (Number.isInteger(Number(v)) && Number(v) >= min && Number(v) <= max),
      defaultMessage: (args) => message(args?.property ?? 'value'),
    },
  });
}

/** The validated query (400 `invalid_request` with the first problem). */
export function queryOf<T extends object>(dto: ClassConstructor<T>, raw: unknown): T {
  const query = plainToInstance(dto, raw ?? {});
  const [first] = validateSync(query, { stopAtFirstError: true });
  if (first) throw new ApiError(400, 'invalid_request', Object.values(first.constraints ?? {})[0] ?? `${first.property}: invalid`);
  return query;
}

/** A validated integer parameter, or its default when absent or empty. */
export function intOr(v: string | undefined, fallback: number): number {
  return v === undefined || v === '' ? fallback : Number(v);
}

export class PreviewQueryDto {
  @ApiPropertyOptional({ description: '1–1000000, default 10000' })
  @IsOptional()
  @IntParam(1, 1_000_000)
  maxProfiles?: string;

  @ApiPropertyOptional({ description: '0–100, default 10' })
  @IsOptional()
  @IntParam(0, 100)
  sample?: string;

  @ApiPropertyOptional({ description: 'stop scanning after this many milliseconds (the answer is then an estimate): 100–60000, default 800' })
  @IsOptional()
  @IntParam(100, 60_000)
  maxMillis?: string;
}

export class MembersQueryDto {
  @ApiPropertyOptional({ description: `ids per page, 1–${MAX_LIST_LIMIT}, default ${DEFAULT_MEMBERS_LIMIT}` })
  @IsOptional()
  @IntParam(1, MAX_LIST_LIMIT)
  limit?: string;

  @ApiPropertyOptional({ description: 'the `next` of the previous page' })
  @IsOptional()
  cursor?: string;

  @ApiPropertyOptional({ description: 'no longer accepted (400): the pages are walked with `cursor`, not in id order' })
  @IsOptional()
  after?: string;
}

export class MembersPage {
  @ApiProperty() key!: string;
  @ApiProperty({ type: [String] }) profileIds!: string[];
  @ApiProperty({ nullable: true, type: String, description: 'cursor of the next page; null once every member has been listed' }) next!: string | null;
  @ApiProperty({ description: "the request's scan budget ran out before the page was full (fewer ids than limit, maybe none; follow next)" })
  partial!: boolean;
}

export class UpdateQueryDto {
  @ApiPropertyOptional({ description: 'optimistic concurrency: 409 unless the segment is at this version' })
  @IsOptional()
  @IntParam(1, Number.POSITIVE_INFINITY, (name) => `${name}: must be a positive integer`, false)
  expectedVersion?: string;
}

export class SegmentResponse {
  @ApiProperty() key!: string;
  @ApiProperty({ description: 'increases by one per change (definition, enable, disable)' }) version!: number;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({ description: 'the definition (see GET /v1/segments/schema)' }) definition!: Record<string, unknown>;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty() updatedBy!: string;
}

export class BackfillView {
  @ApiProperty({ description: 'the segment version being backfilled' }) version!: number;
  @ApiProperty({ enum: ['running', 'done', 'failed'] }) status!: string;
  @ApiProperty({ description: 'profiles when it started' }) total!: number;
  @ApiProperty() processed!: number;
  @ApiProperty({ description: 'profiles whose state or membership changed' }) changed!: number;
  @ApiProperty({ description: 'membership messages produced' }) published!: number;
  @ApiProperty({ description: 'processed ÷ total (1 when done)' }) fraction!: number;
  @ApiProperty() ratePerSecond!: number;
  @ApiPropertyOptional({ description: 'seconds left at the rate so far (0 when done; null when failed or before the first page)' })
  etaSeconds!: number | null;
  @ApiProperty() startedAt!: string;
  @ApiPropertyOptional() finishedAt!: string | null;
  @ApiPropertyOptional() error!: string | null;
}

export class SegmentWithStats extends SegmentResponse {
  @ApiProperty({ description: 'profiles in the segment now (kept from membership changes, not counted per request; see docs/segmentation.md)' }) size!: number;
  @ApiPropertyOptional({ type: BackfillView, description: 'the latest backfill of this segment' }) backfill!: BackfillView | null;
  @ApiPropertyOptional({ description: 'why an active segment is not evaluated (it refers to an inactive one)' }) notEvaluated?: string;
}

export class PreviewResponse {
  @ApiProperty({ description: 'profiles read' }) scanned!: number;
  @ApiProperty({ description: 'of those, profiles that match' }) matched!: number;
  @ApiProperty({ description: 'profiles stored' }) total!: number;
  @ApiProperty({ description: 'false when only the first `maxProfiles` (by id) were read' }) complete!: boolean;
  @ApiProperty({ description: 'matched × total ÷ scanned' }) estimated!: number;
  @ApiProperty({ type: [String], description: 'ids of matching profiles' }) sample!: string[];
}

export class SegmentListResponse {
  @ApiProperty({ type: [SegmentWithStats] }) segments!: SegmentWithStats[];
}

export class ValidationResponse {
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional({ description: '{path, message} per problem; path is the JSON path in the definition, e.g. condition.all[1].op' }) errors?: {
    path: string;
    message: string;
  }[];
}

export class SizesQueryDto {
  @ApiPropertyOptional({ description: 'ISO 8601 time; default 7 days before `to`' })
  @IsOptional()
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601 time; default now. At most 92 days after `from`' })
  @IsOptional()
  to?: string;

  @ApiPropertyOptional({ description: 'seconds: one point per step (the last sampled in it); 1–86400, default every sampled point' })
  @IsOptional()
  @IntParam(1, 86_400)
  step?: string;
}

/** A validated time parameter (ms), or its default when absent or empty. */
function timeOr(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const t = /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw new ApiError(400, 'invalid_request', `${name}: must be an ISO 8601 time (e.g. 2026-12-01T00:00:00Z)`);
  return t;
}

/** `from`, `to` (ms) and `stepMs` of `GET /v1/segments/{key}/sizes`: 400 naming the parameter when one is wrong. */
export function sizesRangeOf(raw: unknown, now: number, maxDays: number): { from: number; to: number; stepMs?: number } {
  const q = queryOf(SizesQueryDto, raw);
  const to = timeOr('to', q.to, now);
  const from = timeOr('from', q.from, to - 7 * 86_400_000);
  if (from > to) throw new ApiError(400, 'invalid_request', 'from: must not be after to');
  if (to - from > maxDays * 86_400_000) throw new ApiError(400, 'invalid_request', `from: at most ${maxDays} days before to`);
  return { from, to, ...(q.step ? { stepMs: Number(q.step) * 1000 } : {}) };
}

export class SizePointView {
  @ApiProperty({ description: 'the start of the sampling interval' }) at!: string;
  @ApiProperty({ description: 'profiles in the segment then' }) size!: number;
}

export class SizeHistoryResponse {
  @ApiProperty() key!: string;
  @ApiProperty({ type: [SizePointView], description: 'oldest first' }) points!: SizePointView[];
}
