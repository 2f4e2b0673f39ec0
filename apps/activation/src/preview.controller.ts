import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decideSlots, enabledSlots, slotAnswers } from '@mosaic/activation-domain';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { ActivationService } from './activation.service';
import type { DecideAnswer } from './decide.controller';

const MAX_SLOTS = 20;
const MAX_ID_LENGTH = 256;

interface PreviewRequest {
  profileId: string;
  slots?: string[];
  skipHoldout: boolean;
}

function invalid(message: string): ApiError {
  return new ApiError(400, 'invalid_request', message);
}

function previewRequest(body: unknown): PreviewRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object {profileId, slots?, skipHoldout?}');
  const { profileId, slots, skipHoldout } = body as Record<string, unknown>;
  if (typeof profileId !== 'string' || profileId === '' || profileId.length > MAX_ID_LENGTH)
    throw invalid(`profileId: must be a string of 1–${MAX_ID_LENGTH} characters`);
  if (
    slots !== undefined &&
    (!Array.isArray(slots) || slots.length > MAX_SLOTS || !slots.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 64))
  )
    throw invalid(`slots: must be an array of at most ${MAX_SLOTS} slot names (1–64 characters)`);
  if (skipHoldout !== undefined && typeof skipHoldout !== 'boolean') throw invalid('skipHoldout: must be true or false');
  return { profileId, ...(slots ? { slots: [...new Set(slots as string[])] } : {}), skipHoldout: skipHoldout === true };
}

/**
 * What a chosen profile would see (the console's "Preview for a contact"): the decision
 * `/v1/decide` makes for it, from the same cache and the same rules, but nothing is counted,
 * recorded or published, and no source scoping applies (an administrator asks, not a site).
 */
@ApiTags('experiences (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/experiences')
export class ExperiencePreviewController {
  constructor(@Inject(ActivationService) private readonly activation: ActivationService) {}

  @Post('preview')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Preview the decision for a profile: {profileId, slots?: [name] (default: every slot with an enabled experience), skipHoldout?: boolean (default false: a profile in the holdout sees the default, as on the site)} → {profileId, segments, slots: {name: {html|text|json, experienceId, ruleId, holdout, error?}}}, the answer /v1/decide gives for that profile. Records and publishes nothing. 404 if activation knows no such profile.',
  })
  @ApiBody({ schema: { type: 'object', required: ['profileId'], example: { profileId: 'prof_…', slots: ['home-banner'] } } })
  async preview(@Body() body: unknown): Promise<DecideAnswer> {
    const request = previewRequest(body);
    const profile = await this.activation.decisions.lookupById(request.profileId);
    if (!profile) throw new ApiError(404, 'not_found', `profile ${request.profileId} is not known to activation (merged away, or no profile change seen yet)`);
    const experiences = this.activation.config.experiences();
    const visitor = { profileId: profile.profileId, segments: profile.segments, traits: profile.traits, computed: profile.computed };
    const decided = decideSlots(experiences, request.slots ?? enabledSlots(experiences), visitor, { skipHoldout: request.skipHoldout });
    return { profileId: profile.profileId, segments: [...profile.segments], slots: slotAnswers(decided, { withErrors: true }) };
  }
}
