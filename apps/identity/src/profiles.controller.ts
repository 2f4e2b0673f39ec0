import { Body, Controller, Get, Headers, Inject, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { FindLiveProfile, ListProfileAudit, SplitProfile, type ChainResolution, type SplitProfileResult } from '@mosaic/identity-application';
import type { AuditRecord, ProfileRecord } from '@mosaic/identity-domain';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import { AdminAuthGuard, ApiError, intQueryParam } from '@mosaic/shared-service';
import { IdentifierDto, toIdentifier } from './identifier.dto';
import { AuditResponse, ProfileResponse, SplitRequestDto, SplitResponse } from './profiles.dto';
import { validateBody } from './validate-body';

function profileView(p: ProfileRecord): Record<string, unknown> {
  return {
    id: p._id,
    status: p.status,
    known: p.known,
    version: p.version,
    identifiers: p.identifiers,
    pending: p.pending,
    merging: p.merging,
    mergeHistory: p.mergedFrom,
    createdAt: p.createdAt,
    createdBy: p.createdBy,
    updatedAt: p.updatedAt,
    updatedBy: p.updatedBy,
    ...(p.splitFrom ? { splitFrom: p.splitFrom } : {}),
  };
}

function profileResponse(id: string, chain: ChainResolution): ProfileResponse {
  if (chain.state === 'missing') {
    if (chain.missingId === id) throw new ApiError(404, 'not_found', `profile ${id} not found`);
    throw new ApiError(404, 'not_found', `profile ${id} was merged (${chain.path.join(' -> ')}) into ${chain.missingId}, which no longer exists`);
  }
  const { requested, profile } = chain;
  return {
    requestedId: id,
    profileId: profile._id,
    path: chain.path,
    redirected: profile._id !== id,
    ...(requested._id !== profile._id
      ? {
          requested: {
            id: requested._id,
            status: requested.status,
            mergedInto: requested.mergedInto,
            mergedAt: requested.mergedAt,
            mergedBy: requested.mergedBy,
            expiresAt: requested.expiresAt,
            identifiers: requested.identifiers,
          },
        }
      : {}),
    profile: profileView(profile),
  };
}

function auditView(r: AuditRecord): Record<string, unknown> {
  return { id: r.id, kind: r.kind, at: r.at, triggeringMessageId: r.triggeringMessageId, rule: r.rule, profileId: r.profileId, details: r.details };
}

function checkIdempotencyKey(key: string | undefined): void {
  if (key !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(key))
    throw new ApiError(400, 'invalid_request', 'Idempotency-Key: 1–128 characters of A-Z a-z 0-9 . _ : -');
}

/** The use case's refusal as the HTTP error (404 unknown profile, 409 merged or changing, 400 the rest). */
function splitError(id: string, result: Extract<SplitProfileResult, { ok: false }>): ApiError {
  const message = result.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  if (result.reason === 'not_found') return new ApiError(404, 'not_found', `profile ${id} not found`, result.errors);
  if (result.reason === 'conflict') return new ApiError(409, 'conflict', message, result.errors);
  return new ApiError(400, 'invalid_request', message, result.errors);
}

/** Profiles: identifiers, status, merge history, audit, split. */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@ApiExtraModels(IdentifierDto)
@Controller('v1/profiles')
export class ProfilesController {
  constructor(
    @Inject(FindLiveProfile) private readonly findLiveProfile: FindLiveProfile,
    @Inject(ListProfileAudit) private readonly listProfileAudit: ListProfileAudit,
    @Inject(SplitProfile) private readonly splitProfile: SplitProfile,
  ) {}

  @Get(':id')
  @ApiOperation({ summary: 'A profile: identifiers, status, merge history. A merged profile answers with its survivor (say which in profileId/path).' })
  @ApiOkResponse({ type: ProfileResponse })
  async get(@Param('id') id: string): Promise<ProfileResponse> {
    return profileResponse(id, await this.findLiveProfile.execute(id));
  }

  @Get(':id/audit')
  @ApiOperation({ summary: 'The audit of a profile (records naming it: merges, refusals, moves, creation, splits), newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100' })
  @ApiQuery({ name: 'before', required: false, description: 'ISO-8601 `at` of the last record of the previous page' })
  @ApiOkResponse({ type: AuditResponse })
  async audit(@Param('id') id: string, @Query('limit') limitRaw?: string, @Query('before') before?: string): Promise<AuditResponse> {
    const limit = intQueryParam('limit', limitRaw, 100, 1, 1000);
    if (before !== undefined && Number.isNaN(Date.parse(before))) throw new ApiError(400, 'invalid_request', 'before: must be an ISO-8601 date');
    const records = await this.listProfileAudit.execute(id, { limit, ...(before === undefined ? {} : { before }) });
    if (!records) throw new ApiError(404, 'not_found', `profile ${id} not found and no audit record names it`);
    return { profileId: id, records: records.map(auditView), ...(records.length === limit ? { next: records[records.length - 1]?.at } : {}) };
  }

  @Post(':id/split')
  @ApiOperation({
    summary: 'Split identifiers off a profile into a new profile (unmerge)',
    description:
      'The new profile takes the named identifiers; their future events resolve to it; a SplitNotice goes to events.resolved keyed by the new profile (before any of its events) and keyed by the source profile (once the split is complete). 201 with the new profile id; 200 when the Idempotency-Key had already completed.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'makes a retried request complete or repeat the same split (1–128 of A-Z a-z 0-9 . _ : -)',
  })
  @ApiBody({ type: SplitRequestDto })
  @ApiOkResponse({ type: SplitResponse })
  async split(
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SplitResponse> {
    checkIdempotencyKey(idempotencyKey);
    const request = validateBody(SplitRequestDto, body, 'invalid split request', 'body must be a JSON object {identifiers: [{type, value}], reason?}');
    const reason = (request.reason ?? 'split by an administrator').trim();
    const result = await this.splitProfile
      .execute({ profileId: id, identifiers: request.identifiers.map(toIdentifier), reason, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) })
      .catch((err: unknown) => {
        if (!(err instanceof ProducerUnavailableError)) throw err;
        throw new ApiError(
          503,
          'unavailable',
          'Kafka did not acknowledge the split notice: the split may be applied or half-applied; retry with the same Idempotency-Key to complete it',
          undefined,
          { 'Retry-After': '5' },
        );
      });
    if (!result.ok) throw splitError(id, result);
    const { plan } = result;
    void reply.status(plan.alreadyApplied ? 200 : 201);
    return {
      operationId: plan.operationId,
      fromProfileId: plan.fromProfileId,
      newProfileId: plan.newProfileId,
      identifiers: plan.identifiers,
      alreadyApplied: plan.alreadyApplied,
    };
  }
}
