import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PublishSources } from '@mosaic/collector-application';
import { SourcesRepository, WriteKeyCache, type SourceView } from '@mosaic/collector-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import {
  CreateSourceDto,
  CreatedSourceResponse,
  IdentitySecretResponse,
  PatchSourceDto,
  ServerKeyResponse,
  SourceResponse,
  VerifyWriteKeyDto,
  allowedOrigins,
  validateSourceBody,
} from './sources.dto';

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
    @Inject(PublishSources) private readonly publisher: PublishSources,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a source; answers its write key, server key and identity secret (the keys are shown once)' })
  @ApiBody({ type: CreateSourceDto })
  @ApiOkResponse({ type: CreatedSourceResponse })
  async create(@Body() raw: unknown): Promise<SourceView & { writeKey: string; serverKey: string; identitySecret: string }> {
    const body = validateSourceBody(CreateSourceDto, raw);
    const { source, credentials } = await this.sources.create(body.name.trim(), allowedOrigins(body.allowedOrigins));
    await this.publisher.publish(source.id);
    return { ...source, ...credentials };
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'The active source of a write key; 404 when unknown or revoked' })
  @ApiBody({ type: VerifyWriteKeyDto })
  @ApiOkResponse({ type: SourceResponse })
  async verify(@Body() raw: unknown): Promise<SourceView> {
    const { writeKey } = validateSourceBody(VerifyWriteKeyDto, raw);
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
  @ApiBody({ type: PatchSourceDto })
  @ApiOkResponse({ type: SourceResponse })
  async patch(@Param('id') id: string, @Body() raw: unknown): Promise<SourceView> {
    const body = validateSourceBody(PatchSourceDto, raw, true);
    const source = found(id, await this.sources.setAllowedOrigins(id, allowedOrigins(body.allowedOrigins)));
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
