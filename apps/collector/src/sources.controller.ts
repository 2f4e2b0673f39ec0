import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { SourcesRepository, WriteKeyCache, type SourceView } from '@mosaic/collector-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { CollectorInputError, parseJsonBody } from '@mosaic/collector-domain';

class CreateSourceBody {
  @ApiProperty({ example: 'website', maxLength: 200 }) name!: string;
}

class SourceResponse {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'First characters of the write key' }) writeKeyPrefix!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

class CreatedSourceResponse extends SourceResponse {
  @ApiProperty({ description: 'The write key. Shown once: only its digest is stored.' }) writeKey!: string;
}

/** The raw request body (the collector parses bodies itself) as JSON; 4xx naming the problem. */
function jsonBody(raw: unknown): unknown {
  try {
    return parseJsonBody(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
  } catch (err) {
    if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
}

/** Admin API: sources and their write keys. */
@ApiTags('sources (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/sources')
export class SourcesController {
  constructor(
    private readonly sources: SourcesRepository,
    private readonly writeKeys: WriteKeyCache,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a source; answers its write key (shown once)' })
  @ApiBody({ type: CreateSourceBody })
  @ApiOkResponse({ type: CreatedSourceResponse })
  async create(@Body() raw: unknown): Promise<SourceView & { writeKey: string }> {
    const body = jsonBody(raw);
    const name = (body as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name.trim().length === 0) throw new ApiError(400, 'invalid_name', 'name: must be a non-empty string');
    if (name.length > 200) throw new ApiError(400, 'invalid_name', 'name: must be at most 200 characters');
    const { source, writeKey } = await this.sources.create(name.trim());
    return { ...source, writeKey };
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: "The active source of a write key (for other services' public endpoints, e.g. activation's decision API); 404 when unknown or revoked" })
  @ApiBody({ schema: { type: 'object', required: ['writeKey'], properties: { writeKey: { type: 'string' } } } })
  @ApiOkResponse({ type: SourceResponse })
  async verify(@Body() raw: unknown): Promise<SourceView> {
    const body = jsonBody(raw);
    const writeKey = (body as { writeKey?: unknown } | null)?.writeKey;
    if (typeof writeKey !== 'string' || writeKey.length === 0 || writeKey.length > 200) throw new ApiError(400, 'invalid_write_key', 'writeKey: must be a non-empty string of at most 200 characters');
    const source = await this.sources.findActiveByWriteKey(writeKey);
    if (!source) throw new ApiError(404, 'not_found', 'no active source has this write key');
    return source;
  }

  @Get()
  @ApiOperation({ summary: 'List sources (write keys are not shown)' })
  @ApiOkResponse({ type: [SourceResponse] })
  async list(): Promise<{ sources: SourceView[] }> {
    return { sources: await this.sources.list() };
  }

  @Get(':id')
  @ApiOkResponse({ type: SourceResponse })
  async get(@Param('id') id: string): Promise<SourceView> {
    const s = await this.sources.get(id);
    if (!s) throw new ApiError(404, 'not_found', `source ${id} not found`);
    return s;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a source: its write key is refused (401) from then on' })
  @ApiOkResponse({ type: SourceResponse })
  async revoke(@Param('id') id: string): Promise<SourceView> {
    const s = await this.sources.revoke(id);
    if (!s) throw new ApiError(404, 'not_found', `source ${id} not found`);
    this.writeKeys.invalidateSource(id);
    return s;
  }
}
