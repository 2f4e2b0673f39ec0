import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { SEGMENT_DEFINITION_SCHEMA, SEGMENT_EXAMPLES, checkReferences, validateDefinition, type SegmentDefinition } from '@mosaic/segmentation-domain';
import type { StoredSegment, WriteOutcome } from '@mosaic/segmentation-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
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

class SegmentListResponse {
  @ApiProperty({ type: [SegmentResponse] }) segments!: SegmentResponse[];
}

class ValidationResponse {
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional({ description: '{path, message} per problem; path is the JSON path in the definition, e.g. condition.all[1].op' }) errors?: { path: string; message: string }[];
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function view(s: StoredSegment): SegmentResponse {
  return { key: s.key, version: s.version, status: s.status, definition: s.definition as unknown as Record<string, unknown>, createdAt: s.createdAt, updatedAt: s.updatedAt, updatedBy: s.updatedBy };
}

function invalid(errors: { path: string; message: string }[]): ApiError {
  return new ApiError(400, 'invalid_definition', `invalid segment definition: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
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
    if (!result.ok) throw invalid(result.errors);
    const definition = result.definition;
    if (key !== undefined && definition.key !== key) throw invalid([{ path: 'key', message: `must be ${key} (the segment in the URL); create a new segment to change a key` }]);
    const others = (await this.repo.list()).filter((s) => s.key !== definition.key).map((s) => s.definition);
    const refs = checkReferences([...others, definition]);
    if (!refs.ok) throw invalid(refs.errors.map((e) => ({ path: e.key === definition.key ? e.path : `(segment ${e.key}) ${e.path}`, message: e.message })));
    return definition;
  }

  private outcome(r: WriteOutcome, key: string): SegmentResponse {
    if (r.ok) return view(r.segment);
    if (r.reason === 'exists') throw new ApiError(409, 'conflict', `segment ${key} exists (update it with PUT /v1/segments/${key})`);
    if (r.reason === 'not_found') throw new ApiError(404, 'not_found', `segment ${key} not found`);
    throw new ApiError(409, 'conflict', `segment ${key} was changed meanwhile (read it again and retry)`);
  }

  @Get()
  @ApiOperation({ summary: 'Every segment with its current version and status' })
  @ApiOkResponse({ type: SegmentListResponse })
  async list(): Promise<SegmentListResponse> {
    return { segments: (await this.repo.list()).map(view) };
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
  @ApiOkResponse({ type: SegmentResponse })
  async create(@Body() body: unknown): Promise<SegmentResponse> {
    const definition = await this.check(body);
    return this.outcome(await this.repo.create(definition, 'admin-api'), definition.key);
  }

  @Get(':key')
  @ApiOperation({ summary: 'A segment with its current definition' })
  @ApiOkResponse({ type: SegmentResponse })
  async get(@Param('key') key: string): Promise<SegmentResponse> {
    const s = KEY.test(key) ? await this.repo.get(key) : null;
    if (!s) throw new ApiError(404, 'not_found', `segment ${key} not found`);
    return view(s);
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
  @ApiOkResponse({ type: SegmentResponse })
  async update(@Param('key') key: string, @Body() body: unknown, @Query('expectedVersion') expected?: string): Promise<SegmentResponse> {
    const expectedVersion = expectedVersionOf(expected);
    const definition = await this.check(body, key);
    return this.outcome(await this.repo.update(key, { definition }, 'admin-api', expectedVersion), key);
  }

  @Post(':key/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a segment (a new version; its definition is kept)' })
  @ApiOkResponse({ type: SegmentResponse })
  async disable(@Param('key') key: string): Promise<SegmentResponse> {
    return this.outcome(await this.repo.update(key, { status: 'disabled' }, 'admin-api'), key);
  }

  @Post(':key/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled segment (a new version)' })
  @ApiOkResponse({ type: SegmentResponse })
  async enable(@Param('key') key: string): Promise<SegmentResponse> {
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
    await this.repo.delete(key);
  }
}
