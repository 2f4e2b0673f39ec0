import { Body, Controller, Delete, Get, HttpCode, Inject, Options, Param, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { keyDigest } from '@mosaic/contracts';
import {
  decideSlots,
  originAllowed,
  profileVisibleTo,
  validateExperience,
  verifyUserHash,
  slotAnswers,
  type Experience,
  type SlotAnswer,
  type SourceAccess,
  type ValidationError,
} from '@mosaic/activation-domain';
import type { ExperienceDocument } from '@mosaic/activation-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { ExperienceBodyDto } from './admin.dto';
import { ActivationService } from './activation.service';

const MAX_SLOTS = 20;
const MAX_ID_LENGTH = 256;

function invalid(message: string, details?: unknown): ApiError {
  return new ApiError(400, 'invalid_request', message, details);
}

/** The body as JSON: browsers send it as text/plain (no preflight), servers as application/json. */
function parseBody(raw: unknown): Record<string, unknown> {
  let body = raw;
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw);
    } catch {
      throw invalid('the body is not valid JSON');
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the body must be a JSON object {writeKey, anonymousId?, userId?, userHash?, slots}');
  return body as Record<string, unknown>;
}

function optionalId(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > MAX_ID_LENGTH) throw invalid(`${name}: must be a string of at most ${MAX_ID_LENGTH} characters`);
  return v;
}

/** `Basic base64(writeKey:)`, as the collector takes it. */
function writeKeyOf(body: Record<string, unknown>, authorization: string | undefined): string | undefined {
  if (typeof body['writeKey'] === 'string' && body['writeKey'] !== '') return body['writeKey'];
  const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  return decoded.split(':')[0] || undefined;
}

/** `Bearer sk_…`: a source's server key (server-side calls only). */
function serverKeyOf(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(sk_\S+)$/i.exec(authorization ?? '')?.[1];
}

export interface DecideAnswer {
  profileId: string | null;
  segments: string[];
  slots: Record<string, SlotAnswer>;
}

/** Who is asking: the source, and whether its server vouches for user ids (server key). */
interface Caller {
  source: SourceAccess;
  trusted: boolean;
}

const PREFLIGHT_MAX_AGE_SECONDS = 600;

function origins(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function tooMany(what: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, 'rate_limited', `too many decision requests ${what}; retry after ${retryAfterSeconds} s`, undefined, {
    'Retry-After': String(retryAfterSeconds),
  });
}

/**
 * The decision API: public, called by the tracker's `decide()` (write key, anonymous id, or a
 * user id with the `userHash` the site's server computed) and by servers (server key). CORS
 * per source, rate limits per key and client address, profiles scoped to the source.
 */
@ApiTags('decide (public)')
@Controller('v1')
export class DecideController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  /** The preflight carries no key: an origin some active source allows is answered; the POST then checks it against its own source. */
  @Options('decide')
  preflight(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const origin = origins(req.headers.origin);
    if (!origin || origin === 'null' || !this.activation.sources.directory.allowedOrigins().has(origin)) {
      throw new ApiError(
        403,
        'origin_not_allowed',
        `origin ${origin ?? '(none)'} is not in the allowedOrigins of any source (PATCH /v1/sources/{id} on the collector)`,
      );
    }
    void reply
      .status(204)
      .headers({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Authorization',
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
        Vary: 'Origin',
      })
      .send();
  }

  @Post('decide')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "The content of the page slots for a visitor: {writeKey (or Basic auth), anonymousId?, userId?, userHash?, slots: [name]} → {profileId, segments, slots: {name: {html|text|json, experienceId, ruleId, holdout}}}. A userId needs userHash = hex HMAC-SHA256(identity secret, userId), or the call comes from a server with Authorization: Bearer <server key>; otherwise 401 user_not_verified. Only profiles with events from the calling source are seen; others, and first-time visitors, get the default content. A browser Origin must be in the source's allowedOrigins (403). 429 with Retry-After over the rate limits.",
  })
  @ApiBody({
    schema: {
      type: 'object',
      example: { writeKey: 'wk_…', anonymousId: 'a-1', userId: 'u-1', userHash: '<hex HMAC-SHA256(identitySecret, userId)>', slots: ['home-banner'] },
    },
  })
  async decide(@Body() raw: unknown, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<DecideAnswer> {
    const started = process.hrtime.bigint();
    const origin = origins(req.headers.origin);
    // Sites some source allows can read refusals (401, 429); the source's own list decides below.
    if (origin && this.activation.sources.directory.allowedOrigins().has(origin))
      void reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin');
    const byIp = this.activation.decideLimits.perIp.take(req.ip);
    if (!byIp.ok) throw tooMany(`from ${req.ip}`, byIp.retryAfterSeconds);
    const body = parseBody(raw);
    const caller = this.caller(body, req.headers.authorization);
    if (origin !== undefined && !originAllowed(caller.source.allowedOrigins, origin)) {
      reply.removeHeader('Access-Control-Allow-Origin');
      throw new ApiError(
        403,
        'origin_not_allowed',
        `origin ${origin} is not in the allowedOrigins of source ${caller.source.id} (PATCH /v1/sources/${caller.source.id} on the collector)`,
      );
    }
    const byKey = this.activation.decideLimits.perKey.take(`${caller.trusted ? 'server' : 'write'}:${caller.source.id}`);
    if (!byKey.ok) throw tooMany(`with this ${caller.trusted ? 'server' : 'write'} key`, byKey.retryAfterSeconds);
    const anonymousId = optionalId(body, 'anonymousId');
    const userId = optionalId(body, 'userId');
    if (userId !== undefined && !caller.trusted) this.verifyUser(caller.source, userId, body['userHash']);
    const slots = body['slots'];
    if (!Array.isArray(slots) || slots.length > MAX_SLOTS || !slots.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 64)) {
      throw invalid(`slots: must be an array of at most ${MAX_SLOTS} slot names (1–64 characters)`);
    }
    const found = await this.activation.decisions.lookup({ userId, anonymousId });
    const profile = found && profileVisibleTo(found.computed, caller.source.id) ? found : null;
    const visitor = {
      profileId: profile?.profileId,
      anonymousId,
      userId,
      segments: profile?.segments ?? [],
      traits: profile?.traits ?? {},
      computed: profile?.computed ?? {},
    };
    const experiences = this.activation.config.experiences();
    const slotNames = [...new Set(slots as string[])];
    const decided = profile
      ? this.activation.decisionMemo.decide(profile, experiences, slotNames, { ...visitor, profileId: profile.profileId })
      : decideSlots(experiences, slotNames, visitor);
    const out: DecideAnswer = { profileId: profile?.profileId ?? null, segments: [...visitor.segments], slots: slotAnswers(decided) };
    this.activation.metrics.decisions.inc({ outcome: profile ? 'known' : found ? 'other_source' : 'unknown' });
    this.activation.metrics.decideSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  /** The source of the server key (Bearer) or write key (body or Basic), checked against `mosaic.sources`. */
  private caller(body: Record<string, unknown>, authorization: string | undefined): Caller {
    if (!this.activation.sources.caughtUp) throw new ApiError(503, 'starting', 'the sources are still being loaded; retry shortly');
    const directory = this.activation.sources.directory;
    const serverKey = serverKeyOf(authorization);
    if (serverKey) {
      const source = directory.byServerKey(keyDigest(serverKey));
      if (!source) throw new ApiError(401, 'invalid_server_key', 'unknown, rotated or revoked server key');
      return { source, trusted: true };
    }
    const writeKey = writeKeyOf(body, authorization);
    if (!writeKey)
      throw new ApiError(
        401,
        'missing_write_key',
        'a write key is required: writeKey in the body, or Basic auth (servers: Authorization: Bearer <server key>)',
      );
    const source = directory.byWriteKey(keyDigest(writeKey));
    if (!source) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key');
    return { source, trusted: false };
  }

  /** A user id from a browser counts only with the site's server's HMAC of it; never silently dropped. */
  private verifyUser(source: SourceAccess, userId: string, userHash: unknown): void {
    if (userHash === undefined || userHash === null || userHash === '') {
      throw new ApiError(
        401,
        'user_not_verified',
        'userId needs userHash = hex HMAC-SHA256(identity secret of the source, userId), computed by your server; or call from your server with Authorization: Bearer <server key>; or send only anonymousId',
      );
    }
    if (!source.identitySecret)
      throw new ApiError(
        401,
        'user_not_verified',
        `source ${source.id} has no identity secret (POST /v1/sources/${source.id}/identity-secret on the collector)`,
      );
    if (typeof userHash !== 'string' || !verifyUserHash(source.identitySecret, userId, userHash)) {
      throw new ApiError(401, 'user_not_verified', "userHash does not match userId (hex HMAC-SHA256 of userId with the source's identity secret)");
    }
  }
}

function experienceView(d: ExperienceDocument): Record<string, unknown> {
  return { ...(JSON.parse(d.json) as Experience), createdAt: d.createdAt.toISOString(), updatedAt: d.updatedAt.toISOString() };
}

function invalidExperience(errors: readonly ValidationError[]): ApiError {
  return new ApiError(400, 'invalid_experience', `invalid experience: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors);
}

/** Experiences: per slot, ordered rules over segments, traits and computed attributes, a default, a holdout. */
@ApiTags('experiences (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/experiences')
export class ExperiencesController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  private check(body: unknown, id?: string): Experience {
    const input = typeof body === 'object' && body !== null && !Array.isArray(body) && id !== undefined ? { ...(body as Record<string, unknown>), id } : body;
    const r = validateExperience(input);
    if (!r.ok) throw invalidExperience(r.errors);
    return r.value;
  }

  @Post()
  @ApiBody({ type: ExperienceBodyDto })
  @ApiOperation({
    summary:
      'Create an experience {id, slot, name, enabled?, holdoutPercent?, rules: [{id, when?: {segments?: {all?, any?, none?}, traits?, attributes?}, content: {html|text|json}}], default}; 409 if the id exists',
  })
  async create(@Body() body: unknown): Promise<Record<string, unknown>> {
    const e = this.check(body);
    const now = new Date();
    const doc: ExperienceDocument = { _id: e.id, slot: e.slot, enabled: e.enabled, json: JSON.stringify(e), createdAt: now, updatedAt: now };
    if (!(await this.activation.experiences.insert(doc)))
      throw new ApiError(409, 'conflict', `experience ${e.id} exists (replace it with PUT /v1/experiences/${e.id})`);
    await this.activation.config.reload();
    return experienceView(doc);
  }

  @Get()
  @ApiOperation({ summary: 'Every experience' })
  async list(): Promise<{ experiences: Record<string, unknown>[] }> {
    return { experiences: (await this.activation.experiences.list()).map(experienceView) };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<Record<string, unknown>> {
    const d = await this.activation.experiences.findById(id);
    if (!d) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    return experienceView(d);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace an experience' })
  @ApiBody({ type: ExperienceBodyDto })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<Record<string, unknown>> {
    const held = await this.activation.experiences.findById(id);
    if (!held) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    const e = this.check(body, id);
    const doc: ExperienceDocument = { ...held, slot: e.slot, enabled: e.enabled, json: JSON.stringify(e), updatedAt: new Date() };
    await this.activation.experiences.replace(doc);
    await this.activation.config.reload();
    return experienceView(doc);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    if (!(await this.activation.experiences.delete(id))) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    await this.activation.config.reload();
  }
}
