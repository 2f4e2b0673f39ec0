import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MAX_SIZE_HISTORY_DAYS, SEGMENT_DEFINITION_SCHEMA, SEGMENT_EXAMPLES, parseProfileListQuery, type SegmentDefinition } from '@mosaic/segmentation-domain';
import type { BackfillProgress, StoredSegment, WriteOutcome } from '@mosaic/segmentation-data-access';
import { AdminAuthGuard, ApiError, invalidInput } from '@mosaic/shared-service';
import {
  BackfillView,
  DEFAULT_MEMBERS_LIMIT,
  MembersPage,
  MembersQueryDto,
  PreviewQueryDto,
  PreviewResponse,
  SegmentListResponse,
  SegmentWithStats,
  SizeHistoryResponse,
  SizesQueryDto,
  UpdateQueryDto,
  ValidationResponse,
  intOr,
  queryOf,
  sizesRangeOf,
  type SegmentResponse,
} from './segments.dto';
import { listPage } from './list-page';
import { SegmentationService } from './segmentation.service';

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function view(s: StoredSegment): SegmentResponse {
  return {
    key: s.key,
    version: s.version,
    status: s.status,
    definition: s.definition as unknown as Record<string, unknown>,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    updatedBy: s.updatedBy,
  };
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
    const r = await this.segmentation.validateDefinition.execute(body, key);
    if (!r.ok) throw invalidInput('definition', r.errors, 'segment definition');
    return r.definition;
  }

  private async withStats(s: StoredSegment, backfills?: Map<string, BackfillProgress>, sizes?: Map<string, number>): Promise<SegmentWithStats> {
    const backfill = backfills ? (backfills.get(s.key) ?? null) : await this.segmentation.backfills.progress(s.key);
    const skipped = this.segmentation.plans.skipped().find((x) => x.key === s.key);
    return {
      ...view(s),
      size: (sizes ?? (await this.segmentation.sizes.sizes())).get(s.key) ?? 0,
      backfill,
      ...(skipped && s.status === 'active' ? { notEvaluated: skipped.reason } : {}),
    };
  }

  private async outcome(r: WriteOutcome, key: string): Promise<SegmentWithStats> {
    if (r.ok) {
      await this.segmentation.reevaluate.execute(key, r.segment.version);
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
    const sizes = await this.segmentation.sizes.sizes();
    const segments: SegmentWithStats[] = [];
    for (const s of await this.repo.list()) segments.push(await this.withStats(s, backfills, sizes));
    return { segments };
  }

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Count and sample the profiles an unsaved definition matches (event windows from stored events); reads at most maxProfiles, for at most maxMillis, and extrapolates the rest (estimated)',
  })
  @ApiBody({ schema: { type: 'object', example: SEGMENT_EXAMPLES[0] } })
  @ApiOkResponse({ type: PreviewResponse })
  async preview(@Body() body: unknown, @Query() query: PreviewQueryDto): Promise<PreviewResponse> {
    const q = queryOf(PreviewQueryDto, query);
    const definition = await this.check(body);
    return this.segmentation.preview.execute(definition, {
      maxProfiles: intOr(q.maxProfiles, 10_000),
      sample: intOr(q.sample, 10),
      maxMillis: intOr(q.maxMillis, 800),
    });
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
  @ApiOperation({
    summary:
      "Profile ids in the segment, a page at a time: follow `next` until it is null. The same walk as GET /v1/profiles?segment= (each page costs the same at any depth; a page can be partial when the request's scan budget ran out, maybe empty, with a `next` to go on); the order is stable but not by id",
  })
  @ApiOkResponse({ type: MembersPage })
  async members(@Param('key') key: string, @Query() query: MembersQueryDto): Promise<MembersPage> {
    const q = queryOf(MembersQueryDto, query);
    if (q.after !== undefined)
      throw new ApiError(400, 'invalid_request', "after: no longer accepted; page with cursor (the previous page's next), starting without one");
    if (!KEY.test(key) || !(await this.repo.get(key))) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    const parsed = parseProfileListQuery({ segment: key, limit: String(intOr(q.limit, DEFAULT_MEMBERS_LIMIT)), cursor: q.cursor });
    if (!parsed.ok) throw new ApiError(400, 'invalid_request', parsed.message);
    const page = await listPage(this.segmentation.listProfiles, parsed.query);
    return { key, profileIds: page.profiles.map((p) => p.profileId), next: page.next, partial: page.partial };
  }

  @Get(':key/sizes')
  @ApiOperation({
    summary: `The segment's size over time: the sizes sampled every SEGMENTATION_SIZE_HISTORY_INTERVAL_MS from \`from\` to \`to\` (at most ${MAX_SIZE_HISTORY_DAYS} days), oldest first`,
  })
  @ApiOkResponse({ type: SizeHistoryResponse })
  async sizes(@Param('key') key: string, @Query() query: SizesQueryDto): Promise<SizeHistoryResponse> {
    const { from, to, stepMs } = sizesRangeOf(query, Date.now(), MAX_SIZE_HISTORY_DAYS);
    if (!KEY.test(key) || !(await this.repo.get(key))) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return { key, points: await this.segmentation.readSizeHistory.execute(key, from, to, stepMs) };
  }

  @Post(':key/backfill')
  @HttpCode(202)
  @ApiOperation({ summary: 'Re-run the backfill of a segment (after a failed one, or to re-read stored events)' })
  async backfill(@Param('key') key: string): Promise<BackfillView> {
    const s = KEY.test(key) ? await this.repo.get(key) : null;
    if (!s) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return this.segmentation.backfill.request(key, s.version);
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
  @ApiOkResponse({ type: SegmentWithStats })
  async update(@Param('key') key: string, @Body() body: unknown, @Query() query: UpdateQueryDto): Promise<SegmentWithStats> {
    const { expectedVersion: expected } = queryOf(UpdateQueryDto, query);
    const expectedVersion = expected === undefined ? undefined : Number(expected);
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
    const r = await this.segmentation.deleteSegment.execute(key);
    if (r.ok) return;
    if (r.reason === 'not_found') throw new ApiError(404, 'not_found', `segment ${key} not found`);
    throw new ApiError(409, 'conflict', `segment ${key} is referred to: ${r.by.join('; ')}`);
  }
}
