/**
 * The segments API's query parameters and responses. Query parameters are validated with
 * class-validator; a problem is a 400 `invalid_request` naming the parameter and what it
 * takes. Definitions themselves are validated by the domain (errors by JSON path).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { IsOptional, ValidateBy, validateSync } from 'class-validator';
import { ApiError } from '@mosaic/shared-service';

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
  @ApiPropertyOptional({ description: '1–1000, default 100' })
  @IsOptional()
  @IntParam(1, 1000)
  limit?: string;

  @ApiPropertyOptional({ description: 'the last id of the previous page' })
  @IsOptional()
  after?: string;
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
