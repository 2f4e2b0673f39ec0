import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuditRecord, Identifier, IdentifierRecord, ProfileRecord, RuleError } from '@mosaic/identity-domain';
import type { LoadedRules } from '@mosaic/identity-data-access';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import { AdminAuthGuard, ApiError, intQueryParam } from '@mosaic/shared-service';
import { IdentityService, normalizeIdentifier } from './identity.service';

class IdentifierDto {
  @ApiProperty({ example: 'email', description: 'userId, email, phone, anonymousId or external:<name>' }) type!: string;
  @ApiProperty({ example: 'ada@example.com' }) value!: string;
}

class IdentityLookupResponse {
  @ApiProperty({ type: IdentifierDto }) identifier!: Identifier;
  @ApiProperty({ nullable: true, type: String, description: 'the live profile the identifier belongs to (redirects followed); null when its profile no longer exists (an expired redirect: the next event carrying it re-attaches it)' })
  profileId!: string | null;
  @ApiProperty({ type: [String], description: 'profiles visited from the pointer to the live one' }) path!: string[];
  @ApiProperty({ description: 'the identity document: profileId (the direct pointer), version, createdAt, updatedAt, updatedBy, movedFrom, movedBy' }) record!: Record<string, unknown>;
}

class ProfileResponse {
  @ApiProperty({ description: 'the id asked for' }) requestedId!: string;
  @ApiProperty({ description: 'the live profile that answered (differs from requestedId when that one was merged)' }) profileId!: string;
  @ApiProperty({ type: [String], description: 'redirects followed, from requestedId to profileId' }) path!: string[];
  @ApiProperty() redirected!: boolean;
  @ApiPropertyOptional({ description: 'the merged profile asked for: mergedInto, mergedAt, mergedBy, expiresAt, identifiers it held' }) requested?: Record<string, unknown>;
  @ApiProperty({ description: 'the live profile: status, known, version, identifiers, pending, mergeHistory, createdAt/By, updatedAt/By, splitFrom' }) profile!: Record<string, unknown>;
}

class AuditResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ description: 'newest first: merge, refused, moved, created, split — with the triggering message id and the rule that decided' }) records!: Record<string, unknown>[];
  @ApiPropertyOptional({ description: 'pass as `before` for the next page' }) next?: string;
}

class RulesResponse {
  @ApiProperty({ description: '0 while the defaults apply' }) version!: number;
  @ApiProperty({ enum: ['default', 'stored'] }) source!: string;
  @ApiProperty({ nullable: true, type: String }) updatedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiProperty({ description: 'the effective rules (defaults filled in)' }) rules!: Record<string, unknown>;
  @ApiProperty({ nullable: true, description: 'the stored document as given to PUT' }) input!: unknown;
}

class SplitBody {
  @ApiProperty({ type: [IdentifierDto], description: 'the identifiers the new profile takes (they must belong to the profile; at least one must stay)' }) identifiers!: IdentifierDto[];
  @ApiPropertyOptional({ description: 'why (audit and notice)', example: 'shared family tablet' }) reason?: string;
}

class SplitResponse {
  @ApiProperty() operationId!: string;
  @ApiProperty() fromProfileId!: string;
  @ApiProperty() newProfileId!: string;
  @ApiProperty({ type: [IdentifierDto] }) identifiers!: Identifier[];
  @ApiProperty({ description: 'true when this operation id had already completed (nothing written again)' }) alreadyApplied!: boolean;
}

function badRequest(errors: RuleError[], what: string): ApiError {
  return new ApiError(400, 'invalid_request', `${what}: ${errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ')}`, errors);
}

function parseIdentifierParams(type: string, value: string): Identifier {
  const normalized = normalizeIdentifier(type, value);
  if (!normalized.ok) throw new ApiError(400, 'invalid_identifier', `${type}/${value}: ${normalized.message}`);
  return normalized.identifier;
}

function recordView(record: IdentifierRecord): Record<string, unknown> {
  const { _id: _key, type: _type, value: _value, ...rest } = record;
  return rest;
}

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

function rulesView(loaded: LoadedRules): RulesResponse {
  return { version: loaded.version, source: loaded.source, updatedAt: loaded.updatedAt, updatedBy: loaded.updatedBy, rules: loaded.rules as unknown as Record<string, unknown>, input: loaded.input };
}

/** `GET /v1/identities/{type}/{value}`: who an identifier belongs to. */
@ApiTags('identities (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/identities')
export class IdentitiesController {
  constructor(@Inject(IdentityService) private readonly identity: IdentityService) {}

  @Get(':type/:value')
  @ApiOperation({ summary: 'The live profile of an identifier (redirects followed) and its identity document', description: 'Email and phone values are normalised as events are (lower-cased; E.164). URL-encode the value.' })
  @ApiParam({ name: 'type', example: 'email' })
  @ApiParam({ name: 'value', example: 'ada@example.com' })
  @ApiOkResponse({ type: IdentityLookupResponse })
  async lookup(@Param('type') type: string, @Param('value') value: string): Promise<IdentityLookupResponse> {
    const identifier = parseIdentifierParams(type, value);
    const found = await this.identity.lookupIdentifier(identifier);
    if (!found) throw new ApiError(404, 'not_found', `identifier ${identifier.type}:${identifier.value} is not known`);
    const { record, chain } = found;
    return { identifier, profileId: chain.state === 'live' ? chain.profile._id : null, path: chain.path, record: recordView(record) };
  }
}

/** Profiles: identifiers, status, merge history, audit, split. */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@ApiExtraModels(IdentifierDto)
@Controller('v1/profiles')
export class ProfilesController {
  constructor(@Inject(IdentityService) private readonly identity: IdentityService) {}

  @Get(':id')
  @ApiOperation({ summary: 'A profile: identifiers, status, merge history. A merged profile answers with its survivor (say which in profileId/path).' })
  @ApiOkResponse({ type: ProfileResponse })
  async get(@Param('id') id: string): Promise<ProfileResponse> {
    const chain = await this.identity.resolveChain(id);
    if (chain.state === 'missing') {
      if (chain.missingId === id) throw new ApiError(404, 'not_found', `profile ${id} not found`);
      throw new ApiError(404, 'not_found', `profile ${id} was merged (${chain.path.join(' -> ')}) into ${chain.missingId}, which no longer exists`);
    }
    const requested = chain.requested;
    return {
      requestedId: id,
      profileId: chain.profile._id,
      path: chain.path,
      redirected: chain.profile._id !== id,
      ...(requested._id !== chain.profile._id
        ? { requested: { id: requested._id, status: requested.status, mergedInto: requested.mergedInto, mergedAt: requested.mergedAt, mergedBy: requested.mergedBy, expiresAt: requested.expiresAt, identifiers: requested.identifiers } }
        : {}),
      profile: profileView(chain.profile),
    };
  }

  @Get(':id/audit')
  @ApiOperation({ summary: 'The audit of a profile (records naming it: merges, refusals, moves, creation, splits), newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 100' })
  @ApiQuery({ name: 'before', required: false, description: 'ISO-8601 `at` of the last record of the previous page' })
  @ApiOkResponse({ type: AuditResponse })
  async audit(@Param('id') id: string, @Query('limit') limitRaw?: string, @Query('before') before?: string): Promise<AuditResponse> {
    const limit = intQueryParam('limit', limitRaw, 100, 1, 1000);
    if (before !== undefined && Number.isNaN(Date.parse(before))) throw new ApiError(400, 'invalid_request', 'before: must be an ISO-8601 date');
    const records = await this.identity.store.findAudit(id, { limit, ...(before === undefined ? {} : { before }) });
    if (records.length === 0 && before === undefined && (await this.identity.store.getProfiles([id])).length === 0) {
      throw new ApiError(404, 'not_found', `profile ${id} not found and no audit record names it`);
    }
    const view = records.map((r: AuditRecord) => ({ id: r.id, kind: r.kind, at: r.at, triggeringMessageId: r.triggeringMessageId, rule: r.rule, profileId: r.profileId, details: r.details }));
    return { profileId: id, records: view, ...(records.length === limit ? { next: records[records.length - 1]?.at } : {}) };
  }

  @Post(':id/split')
  @ApiOperation({
    summary: 'Split identifiers off a profile into a new profile (unmerge)',
    description:
      'The new profile takes the named identifiers; their future events resolve to it; a SplitNotice goes to events.resolved keyed by the new profile (before any of its events) and keyed by the source profile (once the split is complete). 201 with the new profile id; 200 when the Idempotency-Key had already completed.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'makes a retried request complete or repeat the same split (1–128 of A-Z a-z 0-9 . _ : -)' })
  @ApiBody({ type: SplitBody })
  @ApiOkResponse({ type: SplitResponse })
  async split(@Param('id') id: string, @Body() body: unknown, @Headers('idempotency-key') idempotencyKey: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<SplitResponse> {
    if (idempotencyKey !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(idempotencyKey)) {
      throw new ApiError(400, 'invalid_request', 'Idempotency-Key: 1–128 characters of A-Z a-z 0-9 . _ : -');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest([{ path: '', message: 'body must be a JSON object {identifiers: [{type, value}], reason?}' }], 'invalid split request');
    const input = body as Record<string, unknown>;
    const errors: RuleError[] = [];
    for (const key of Object.keys(input)) if (key !== 'identifiers' && key !== 'reason') errors.push({ path: key, message: 'unknown field' });
    const identifiers: Identifier[] = [];
    if (!Array.isArray(input['identifiers']) || input['identifiers'].length === 0) {
      errors.push({ path: 'identifiers', message: 'name at least one identifier to split off ([{type, value}])' });
    } else if (input['identifiers'].length > 1000) {
      errors.push({ path: 'identifiers', message: 'at most 1000 identifiers' });
    } else {
      input['identifiers'].forEach((raw: unknown, i: number) => {
        const entry = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
        const normalized = normalizeIdentifier(entry['type'], entry['value']);
        if (normalized.ok) identifiers.push(normalized.identifier);
        else errors.push({ path: typeof entry['type'] === 'string' && normalized.message.startsWith('unknown identifier type') ? `identifiers[${i}].type` : `identifiers[${i}]`, message: normalized.message });
      });
    }
    const reason = input['reason'] ?? 'split by an administrator';
    if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 1000) errors.push({ path: 'reason', message: 'must be a non-empty string of at most 1000 characters' });
    if (errors.length > 0) throw badRequest(errors, 'invalid split request');

    let result: Awaited<ReturnType<IdentityService['split']>>;
    try {
      result = await this.identity.split(id, identifiers, (reason as string).trim(), idempotencyKey);
    } catch (err) {
      if (err instanceof ProducerUnavailableError) {
        throw new ApiError(
          503,
          'unavailable',
          'Kafka did not acknowledge the split notice: the split may be applied or half-applied; retry with the same Idempotency-Key to complete it',
          undefined,
          { 'Retry-After': '5' },
        );
      }
      throw err;
    }
    if (!result.ok) {
      const message = result.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      if (result.status === 404) throw new ApiError(404, 'not_found', `profile ${id} not found`, result.errors);
      if (result.status === 409) throw new ApiError(409, 'conflict', message, result.errors);
      throw new ApiError(400, 'invalid_request', message, result.errors);
    }
    const { plan } = result;
    void reply.status(plan.alreadyApplied ? 200 : 201);
    return { operationId: plan.operationId, fromProfileId: plan.fromProfileId, newProfileId: plan.newProfileId, identifiers: plan.identifiers, alreadyApplied: plan.alreadyApplied };
  }
}

/** `GET/PUT /v1/rules`: limits, priorities, blocked values. */
@ApiTags('rules (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/rules')
export class RulesController {
  constructor(@Inject(IdentityService) private readonly identity: IdentityService) {}

  @Get()
  @ApiOperation({ summary: 'The identity rules in use (defaults filled in)' })
  @ApiOkResponse({ type: RulesResponse })
  get(): RulesResponse {
    return rulesView(this.identity.rules.current());
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the identity rules',
    description:
      'A (partial) rules document: {types: {<type>: {limit, priority, blocked: {values, patterns}}}, blocked: {values, patterns}, emailEvents, redirectTtlMs, pendingClaimTtlMs}; missing fields take the defaults. Validated (400 naming each path); applied at once on this instance and within IDENTITY_RULES_REFRESH_SECONDS on the others.',
  })
  @ApiBody({ schema: { type: 'object', example: { types: { email: { limit: 3 }, 'external:crm_id': { limit: 1, priority: 2 } }, blocked: { values: ['', 'anonymous', 'null', 'test@example.com'] } } } })
  @ApiOkResponse({ type: RulesResponse })
  async put(@Body() body: unknown): Promise<RulesResponse> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest([{ path: '', message: 'rules must be a JSON object' }], 'invalid rules');
    const result = await this.identity.rules.save(body, 'admin-api');
    if (!result.ok) throw badRequest(result.errors, 'invalid rules');
    return rulesView(result.loaded);
  }
}
