import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decideSlots, validateExperience, type Decision, type Experience, type ValidationError } from '@mosaic/activation-domain';
import type { ExperienceDocument } from '@mosaic/activation-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
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
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object {writeKey, anonymousId?, userId?, slots}');
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

interface DecideAnswer {
  profileId: string | null;
  segments: string[];
  slots: Record<string, Decision['content'] & { experienceId: string; ruleId: string | null; holdout: boolean }>;
}

/** The decision API: public (a source's write key), CORS, called by the tracker's `decide()` and by servers. */
@ApiTags('decide (public)')
@Controller('v1')
export class DecideController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  @Post('decide')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The content of the page slots for a visitor: {writeKey (or Basic auth), anonymousId?, userId?, slots: [name]} → {profileId, segments, slots: {name: {html|text|json, experienceId, ruleId, holdout}}}. A first-time visitor gets the default content; a slot without an experience is absent.',
  })
  @ApiBody({ schema: { type: 'object', example: { writeKey: 'wk_…', anonymousId: 'a-1', slots: ['home-banner'] } } })
  async decide(@Body() raw: unknown, @Headers('authorization') authorization?: string): Promise<DecideAnswer> {
    const started = process.hrtime.bigint();
    const body = parseBody(raw);
    const writeKey = writeKeyOf(body, authorization);
    if (!writeKey) throw new ApiError(401, 'missing_write_key', 'a write key is required: writeKey in the body, or Basic auth');
    let sourceId: string | null;
    try {
      sourceId = await this.activation.writeKeys.verify(writeKey);
    } catch (err) {
      throw new ApiError(503, 'unavailable', `write keys cannot be checked now: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!sourceId) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key');
    const anonymousId = optionalId(body, 'anonymousId');
    const userId = optionalId(body, 'userId');
    const slots = body['slots'];
    if (!Array.isArray(slots) || slots.length > MAX_SLOTS || !slots.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 64)) {
      throw invalid(`slots: must be an array of at most ${MAX_SLOTS} slot names (1–64 characters)`);
    }
    const profile = await this.activation.decisions.lookup({ userId, anonymousId });
    const visitor = { profileId: profile?.profileId, anonymousId, userId, segments: profile?.segments ?? [], traits: profile?.traits ?? {}, computed: profile?.computed ?? {} };
    const decided = decideSlots(this.activation.config.experiences(), [...new Set(slots as string[])], visitor);
    const out: DecideAnswer = { profileId: profile?.profileId ?? null, segments: [...visitor.segments], slots: {} };
    for (const [slot, d] of Object.entries(decided)) out.slots[slot] = { ...d.content, experienceId: d.experienceId, ruleId: d.ruleId, holdout: d.holdout };
    this.activation.metrics.decisions.inc({ outcome: profile ? 'known' : 'unknown' });
    this.activation.metrics.decideSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return out;
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
  @ApiOperation({ summary: 'Create an experience {id, slot, name, enabled?, holdoutPercent?, rules: [{id, when?: {segments?: {all?, any?, none?}, traits?, attributes?}, content: {html|text|json}}], default}; 409 if the id exists' })
  async create(@Body() body: unknown): Promise<Record<string, unknown>> {
    const e = this.check(body);
    const now = new Date();
    const doc: ExperienceDocument = { _id: e.id, slot: e.slot, enabled: e.enabled, json: JSON.stringify(e), createdAt: now, updatedAt: now };
    try {
      await this.activation.store.experiences.insertOne(doc);
    } catch {
      throw new ApiError(409, 'conflict', `experience ${e.id} exists (replace it with PUT /v1/experiences/${e.id})`);
    }
    await this.activation.config.reload();
    return experienceView(doc);
  }

  @Get()
  @ApiOperation({ summary: 'Every experience' })
  async list(): Promise<{ experiences: Record<string, unknown>[] }> {
    return { experiences: ((await this.activation.store.experiences.find({}).sort({ _id: 1 }).toArray()) as ExperienceDocument[]).map(experienceView) };
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<Record<string, unknown>> {
    const d = (await this.activation.store.experiences.findOne({ _id: id })) as ExperienceDocument | null;
    if (!d) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    return experienceView(d);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace an experience' })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<Record<string, unknown>> {
    const held = (await this.activation.store.experiences.findOne({ _id: id })) as ExperienceDocument | null;
    if (!held) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    const e = this.check(body, id);
    const doc: ExperienceDocument = { ...held, slot: e.slot, enabled: e.enabled, json: JSON.stringify(e), updatedAt: new Date() };
    await this.activation.store.experiences.replaceOne({ _id: id }, doc);
    await this.activation.config.reload();
    return experienceView(doc);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    const r = await this.activation.store.experiences.deleteOne({ _id: id });
    if (r.deletedCount === 0) throw new ApiError(404, 'not_found', `experience ${id} not found`);
    await this.activation.config.reload();
  }
}
