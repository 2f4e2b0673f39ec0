import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { parseAllowedOrigins } from '@mosaic/contracts';
import { SourcesRepository, WriteKeyCache, type SourceView } from '@mosaic/collector-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { CollectorInputError, parseJsonBody } from '@mosaic/collector-domain';
import { SourcesPublisher } from './sources-publisher';

class CreateSourceBody {
  @ApiProperty({ example: 'website', maxLength: 200 }) name!: string;
  @ApiPropertyOptional({ example: ['https://shop.example.com'], description: 'Exact browser origins allowed to call the decision API with this source (default: none)' }) allowedOrigins?: string[];
}

class PatchSourceBody {
  @ApiProperty({ example: ['https://shop.example.com', 'http://127.0.0.1:8091'], description: 'Replaces the allowed origins' }) allowedOrigins!: string[];
}

class SourceResponse {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'First characters of the write key' }) writeKeyPrefix!: string;
  @ApiProperty({ nullable: true, type: String, description: 'First characters of the server key' }) serverKeyPrefix!: string | null;
  @ApiProperty({ description: 'Whether an identity-verification secret is set (userHash can be checked)' }) identityVerification!: boolean;
  @ApiProperty({ type: [String] }) allowedOrigins!: string[];
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
}

class CreatedSourceResponse extends SourceResponse {
  @ApiProperty({ description: 'The write key (public, for browsers and SDKs). Shown once: only its digest is stored.' }) writeKey!: string;
  @ApiProperty({ description: 'The server key (`sk_…`, secret: server-side decision API calls). Shown once: only its digest is stored.' }) serverKey!: string;
  @ApiProperty({ description: "The identity-verification secret (secret: the site's server signs user ids with it). Also answered when rotated." }) identitySecret!: string;
}

class IdentitySecretResponse extends SourceResponse {
  @ApiProperty() identitySecret!: string;
}

class ServerKeyResponse extends SourceResponse {
  @ApiProperty({ description: 'Shown once' }) serverKey!: string;
}

/** The raw request body (the collector parses bodies itself) as a JSON object; 4xx naming the problem. */
function jsonObject(raw: unknown): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseJsonBody(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
  } catch (err) {
    if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
    throw err;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'invalid_request', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

function allowedOriginsOf(value: unknown): string[] {
  const r = parseAllowedOrigins(value);
  if (!r.ok) throw new ApiError(400, 'invalid_allowed_origins', r.errors.join('; '), r.errors);
  return r.origins;
}

function found<T>(id: string, v: T | null): T {
  if (v === null) throw new ApiError(404, 'not_found', `source ${id} not found`);
  return v;
}

/**
 * Admin API: sources and their access settings. Every write is published to `mosaic.sources`
 * before it is answered, so the answer means every instance will learn it within seconds.
 */
@ApiTags('sources (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/sources')
export class SourcesController {
  constructor(
    private readonly sources: SourcesRepository,
    private readonly writeKeys: WriteKeyCache,
    @Inject(SourcesPublisher) private readonly publisher: SourcesPublisher,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a source; answers its write key, server key and identity secret (the keys are shown once)' })
  @ApiBody({ type: CreateSourceBody })
  @ApiOkResponse({ type: CreatedSourceResponse })
  async create(@Body() raw: unknown): Promise<SourceView & { writeKey: string; serverKey: string; identitySecret: string }> {
    const body = jsonObject(raw);
    const name = body['name'];
    if (typeof name !== 'string' || name.trim().length === 0) throw new ApiError(400, 'invalid_name', 'name: must be a non-empty string');
    if (name.length > 200) throw new ApiError(400, 'invalid_name', 'name: must be at most 200 characters');
    const origins = body['allowedOrigins'] === undefined ? [] : allowedOriginsOf(body['allowedOrigins']);
    const { source, credentials } = await this.sources.create(name.trim(), origins);
    await this.publisher.publish(source.id);
    return { ...source, ...credentials };
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'The active source of a write key; 404 when unknown or revoked' })
  @ApiBody({ schema: { type: 'object', required: ['writeKey'], properties: { writeKey: { type: 'string' } } } })
  @ApiOkResponse({ type: SourceResponse })
  async verify(@Body() raw: unknown): Promise<SourceView> {
    const writeKey = jsonObject(raw)['writeKey'];
    if (typeof writeKey !== 'string' || writeKey.length === 0 || writeKey.length > 200) throw new ApiError(400, 'invalid_write_key', 'writeKey: must be a non-empty string of at most 200 characters');
    const source = await this.sources.findActiveByWriteKey(writeKey);
    if (!source) throw new ApiError(404, 'not_found', 'no active source has this write key');
    return source;
  }

  @Get()
  @ApiOperation({ summary: 'List sources (keys and secrets are not shown)' })
  @ApiOkResponse({ type: [SourceResponse] })
  async list(): Promise<{ sources: SourceView[] }> {
    return { sources: await this.sources.list() };
  }

  @Get(':id')
  @ApiOkResponse({ type: SourceResponse })
  async get(@Param('id') id: string): Promise<SourceView> {
    return found(id, await this.sources.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change access settings: {allowedOrigins: ["https://shop.example.com"]} (replaces the list; [] allows no browser origin)' })
  @ApiBody({ type: PatchSourceBody })
  @ApiOkResponse({ type: SourceResponse })
  async patch(@Param('id') id: string, @Body() raw: unknown): Promise<SourceView> {
    const body = jsonObject(raw);
    const unknown = Object.keys(body).filter((k) => k !== 'allowedOrigins');
    if (unknown.length > 0) throw new ApiError(400, 'invalid_request', `${unknown.join(', ')}: cannot be changed (only allowedOrigins)`);
    if (!('allowedOrigins' in body)) throw new ApiError(400, 'invalid_allowed_origins', 'allowedOrigins: required');
    const source = found(id, await this.sources.setAllowedOrigins(id, allowedOriginsOf(body['allowedOrigins'])));
    await this.publisher.publish(id);
    return source;
  }

  @Post(':id/identity-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the identity-verification secret: answers the new one; userHash values made with the old one are refused from now on' })
  @ApiOkResponse({ type: IdentitySecretResponse })
  async rotateIdentitySecret(@Param('id') id: string): Promise<SourceView & { identitySecret: string }> {
    const r = found(id, await this.sources.rotateIdentitySecret(id));
    await this.publisher.publish(id);
    return { ...r.source, identitySecret: r.identitySecret };
  }

  @Post(':id/server-key')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the server key: answers the new one (shown once); the old one is refused from now on' })
  @ApiOkResponse({ type: ServerKeyResponse })
  async rotateServerKey(@Param('id') id: string): Promise<SourceView & { serverKey: string }> {
    const r = found(id, await this.sources.rotateServerKey(id));
    await this.publisher.publish(id);
    return { ...r.source, serverKey: r.serverKey };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a source: its write key and server key are refused (401) from then on, on every instance within seconds' })
  @ApiOkResponse({ type: SourceResponse })
  async revoke(@Param('id') id: string): Promise<SourceView> {
    const s = found(id, await this.sources.revoke(id));
    this.writeKeys.invalidateSource(id);
    await this.publisher.publish(id);
    return s;
  }
}
