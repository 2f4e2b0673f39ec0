import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { SEGMENT_DEFINITION_SCHEMA, SEGMENT_EXAMPLES, checkReferences, validateDefinition, type SegmentDefinition } from '@mosaic/segmentation-domain';
import type { BackfillProgress, StoredSegment, WriteOutcome } from '@mosaic/segmentation-data-access';
import { AdminAuthGuard, ApiError, intQueryParam, invalidInput } from '@mosaic/shared-service';
import { SegmentationService } from './segmentation.service';

class SegmentResponse {
  @ApiProperty() key!: string;
  @ApiProperty({ description: 'increases by one per change (definition, enable, disable)' }) version!: number;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({ description: 'the definition (see GET /v1/segments/schema)' }) definition!: Record<string, unknown>;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty() updatedBy!: string;
}

class BackfillView {
  @ApiProperty({ description: 'the segment version being backfilled' }) version!: number;
  @ApiProperty({ enum: ['running', 'done', 'failed'] }) status!: string;
  @ApiProperty({ description: 'profiles when it started' }) total!: number;
  @ApiProperty() processed!: number;
  @ApiProperty({ description: 'profiles whose state or membership changed' }) changed!: number;
  @ApiProperty({ description: 'membership messages produced' }) published!: number;
  @ApiProperty({ description: 'processed ÷ total (1 when done)' }) fraction!: number;
  @ApiProperty() ratePerSecond!: number;
  @ApiProperty() startedAt!: string;
  @ApiPropertyOptional() finishedAt!: string | null;
  @ApiPropertyOptional() error!: string | null;
}

class SegmentWithStats extends SegmentResponse {
  @ApiProperty({ description: 'profiles in the segment now' }) size!: number;
  @ApiPropertyOptional({ type: BackfillView, description: 'the latest backfill of this segment' }) backfill!: BackfillView | null;
  @ApiPropertyOptional({ description: 'why an active segment is not evaluated (it refers to an inactive one)' }) notEvaluated?: string;
}

class PreviewResponse {
  @ApiProperty({ description: 'profiles read' }) scanned!: number;
  @ApiProperty({ description: 'of those, profiles that match' }) matched!: number;
  @ApiProperty({ description: 'profiles stored' }) total!: number;
  @ApiProperty({ description: 'false when only the first `maxProfiles` (by id) were read' }) complete!: boolean;
  @ApiProperty({ description: 'matched × total ÷ scanned' }) estimated!: number;
  @ApiProperty({ type: [String], description: 'ids of matching profiles' }) sample!: string[];
}

class SegmentListResponse {
  @ApiProperty({ type: [SegmentWithStats] }) segments!: SegmentWithStats[];
}

class ValidationResponse {
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional({ description: '{path, message} per problem; path is the JSON path in the definition, e.g. condition.all[1].op' }) errors?: { path: string; message: string }[];
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function view(s: StoredSegment): SegmentResponse {
  return { key: s.key, version: s.version, status: s.status, definition: s.definition as unknown as Record<string, unknown>, createdAt: s.createdAt, updatedAt: s.updatedAt, updatedBy: s.updatedBy };
}


/** `?expectedVersion=N`: optimistic concurrency for updates. */
function expectedVersionOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ApiError(400, 'invalid_request', 'expectedVersion: must be a positive integer');
  return n;
}

/** Segment definitions: create, update (a new version), disable/enable, delete, list, validate. */
@ApiTags('segments (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/segments')
export class SegmentsController {
  constructor(@Inject(SegmentationService) private readonly segmentation: SegmentationService) {}

  private get repo() {
    return this.segmentation.definitions;
  }

  /** Validates `body` and the references of the whole set with it (cycles, unknown segments). */
  private async check(body: unknown, key?: string): Promise<SegmentDefinition> {
    const result = validateDefinition(body);
    if (!result.ok) throw invalidInput('definition', result.errors, 'segment definition');
    const definition = result.definition;
    if (key !== undefined && definition.key !== key) throw invalidInput('definition', [{ path: 'key', message: `must be ${key} (the segment in the URL); create a new segment to change a key` }], 'segment definition');
    const others = (await this.repo.list()).filter((s) => s.key !== definition.key).map((s) => s.definition);
    const refs = checkReferences([...others, definition]);
    if (!refs.ok) throw invalidInput('definition', refs.errors.map((e) => ({ path: e.key === definition.key ? e.path : `(segment ${e.key}) ${e.path}`, message: e.message })), 'segment definition');
    return definition;
  }

  private async withStats(s: StoredSegment, backfills?: Map<string, BackfillProgress>): Promise<SegmentWithStats> {
    const backfill = backfills ? (backfills.get(s.key) ?? null) : await this.segmentation.backfills.progress(s.key);
    const skipped = this.segmentation.plans.skipped().find((x) => x.key === s.key);
    return { ...view(s), size: await this.segmentation.profiles.size(s.key), backfill, ...(skipped && s.status === 'active' ? { notEvaluated: skipped.reason } : {}) };
  }

  private async outcome(r: WriteOutcome, key: string): Promise<SegmentWithStats> {
    if (r.ok) {
      await this.segmentation.definitionChanged(key, r.segment.version);
      return this.withStats(r.segment);
    }
    if (r.reason === 'exists') throw new ApiError(409, 'conflict', `segment ${key} exists (update it with PUT /v1/segments/${key})`);
    if (r.reason === 'not_found') throw new ApiError(404, 'not_found', `segment ${key} not found`);
    throw new ApiError(409, 'conflict', `segment ${key} was changed meanwhile (read it again and retry)`);
  }

  @Get()
  @ApiOperation({ summary: 'Every segment with its current version and status' })
  @ApiOkResponse({ type: SegmentListResponse })
  async list(): Promise<SegmentListResponse> {
    const backfills = await this.segmentation.backfills.all();
    const segments: SegmentWithStats[] = [];
    for (const s of await this.repo.list()) segments.push(await this.withStats(s, backfills));
    return { segments };
  }

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({ summary: 'Count and sample the profiles an unsaved definition matches (event windows from stored events); reads at most maxProfiles' })
  @ApiQuery({ name: 'maxProfiles', required: false, description: '1–1000000, default 10000' })
  @ApiQuery({ name: 'sample', required: false, description: '0–100, default 10' })
  @ApiBody({ schema: { type: 'object', example: SEGMENT_EXAMPLES[0] } })
  @ApiOkResponse({ type: PreviewResponse })
  async preview(@Body() body: unknown, @Query('maxProfiles') maxRaw?: string, @Query('sample') sampleRaw?: string): Promise<PreviewResponse> {
    const maxProfiles = intQueryParam('maxProfiles', maxRaw, 10_000, 1, 1_000_000);
    const sample = intQueryParam('sample', sampleRaw, 10, 0, 100);
    const definition = await this.check(body);
    const [r, total] = await Promise.all([this.segmentation.evaluator.preview(definition, { maxProfiles, sample }), this.segmentation.profiles.count()]);
    return { ...r, total, estimated: r.complete || r.scanned === 0 ? r.matched : Math.round((r.matched * total) / r.scanned) };
  }

  @Get('schema')
  @ApiOperation({ summary: 'The JSON Schema of segment definitions, with examples' })
  schema(): Record<string, unknown> {
    return { schema: SEGMENT_DEFINITION_SCHEMA, examples: SEGMENT_EXAMPLES };
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Validate a definition without saving it (the same checks as create)' })
  @ApiBody({ schema: { type: 'object', example: SEGMENT_EXAMPLES[0] } })
  @ApiOkResponse({ type: ValidationResponse })
  async validate(@Body() body: unknown): Promise<ValidationResponse> {
    try {
      await this.check(body);
      return { ok: true };
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_definition') return { ok: false, errors: err.details as { path: string; message: string }[] };
      throw err;
    }
  }

  @Post()
  @ApiOperation({ summary: 'Create a segment (version 1); 400 naming every problem by JSON path; 409 if the key exists' })
  @ApiBody({ schema: { type: 'object', example: SEGMENT_EXAMPLES[0] } })
  @ApiOkResponse({ type: SegmentWithStats })
  async create(@Body() body: unknown): Promise<SegmentWithStats> {
    const definition = await this.check(body);
    return this.outcome(await this.repo.create(definition, 'admin-api'), definition.key);
  }

  @Get(':key')
  @ApiOperation({ summary: 'A segment with its current definition' })
  @ApiOkResponse({ type: SegmentWithStats })
  async get(@Param('key') key: string): Promise<SegmentWithStats> {
    const s = KEY.test(key) ? await this.repo.get(key) : null;
    if (!s) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return this.withStats(s);
  }

  @Get(':key/members')
  @ApiOperation({ summary: 'Profile ids in the segment, by id (page with `after`)' })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100' })
  @ApiQuery({ name: 'after', required: false, description: 'the last id of the previous page' })
  async members(@Param('key') key: string, @Query('limit') limitRaw?: string, @Query('after') after?: string): Promise<{ key: string; profileIds: string[]; next: string | null }> {
    const limit = intQueryParam('limit', limitRaw, 100, 1, 1000);
    if (!KEY.test(key) || !(await this.repo.get(key))) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    const profileIds = await this.segmentation.profiles.members(key, limit, after);
    return { key, profileIds, next: profileIds.length === limit ? (profileIds[profileIds.length - 1] ?? null) : null };
  }

  @Post(':key/backfill')
  @HttpCode(202)
  @ApiOperation({ summary: 'Re-run the backfill of a segment (after a failed one, or to re-read stored events)' })
  async backfill(@Param('key') key: string): Promise<BackfillView> {
    const s = KEY.test(key) ? await this.repo.get(key) : null;
    if (!s) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return this.segmentation.backfills.request(key, s.version);
  }

  @Get(':key/versions')
  @ApiOperation({ summary: 'The version history of a segment, newest first' })
  async versions(@Param('key') key: string): Promise<{ key: string; versions: unknown[] }> {
    const versions = KEY.test(key) ? await this.repo.history(key) : [];
    if (versions.length === 0) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return { key, versions };
  }

  @Put(':key')
  @ApiOperation({ summary: 'Replace the definition: a new version. `expectedVersion` makes it conditional (409 if the segment moved on).' })
  @ApiQuery({ name: 'expectedVersion', required: false })
  @ApiOkResponse({ type: SegmentWithStats })
  async update(@Param('key') key: string, @Body() body: unknown, @Query('expectedVersion') expected?: string): Promise<SegmentWithStats> {
    const expectedVersion = expectedVersionOf(expected);
    const definition = await this.check(body, key);
    return this.outcome(await this.repo.update(key, { definition }, 'admin-api', expectedVersion), key);
  }

  @Post(':key/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a segment (a new version; its definition is kept)' })
  @ApiOkResponse({ type: SegmentWithStats })
  async disable(@Param('key') key: string): Promise<SegmentWithStats> {
    return this.outcome(await this.repo.update(key, { status: 'disabled' }, 'admin-api'), key);
  }

  @Post(':key/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled segment (a new version)' })
  @ApiOkResponse({ type: SegmentWithStats })
  async enable(@Param('key') key: string): Promise<SegmentWithStats> {
    return this.outcome(await this.repo.update(key, { status: 'active' }, 'admin-api'), key);
  }

  @Delete(':key')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a segment (409 while other segments refer to it); its version history is kept' })
  async remove(@Param('key') key: string): Promise<void> {
    const all = await this.repo.list();
    if (!all.some((s) => s.key === key)) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    const refs = checkReferences(all.filter((s) => s.key !== key).map((s) => s.definition));
    if (!refs.ok) throw new ApiError(409, 'conflict', `segment ${key} is referred to: ${refs.errors.map((e) => `${e.key} ${e.path}`).join('; ')}`);
    const last = all.find((s) => s.key === key) as StoredSegment;
    await this.repo.delete(key);
    await this.segmentation.definitionChanged(key, last.version);
  }
}
