import { Body, Controller, Get, HttpCode, Inject, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { LoadedRules } from '@mosaic/identity-data-access';
import { AdminAuthGuard } from '@mosaic/shared-service';
import { RulesCache } from './rules.cache';
import { RulesDocumentDto, RulesResponse } from './rules.dto';
import { badRequest, requireJsonObject } from './validate-body';

function rulesView(loaded: LoadedRules): RulesResponse {
  return {
    version: loaded.version,
    source: loaded.source,
    updatedAt: loaded.updatedAt,
    updatedBy: loaded.updatedBy,
    rules: loaded.rules as unknown as Record<string, unknown>,
    input: loaded.input,
  };
}

/** `GET/PUT /v1/rules`: limits, priorities, blocked values. */
@ApiTags('rules (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/rules')
export class RulesController {
  constructor(@Inject(RulesCache) private readonly rules: RulesCache) {}

  @Get()
  @ApiOperation({ summary: 'The identity rules in use (defaults filled in)' })
  @ApiOkResponse({ type: RulesResponse })
  get(): RulesResponse {
    return rulesView(this.rules.current());
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the identity rules',
    description:
      'A (partial) rules document: {types: {<type>: {limit, priority, blocked: {values, patterns}}}, blocked: {values, patterns}, emailEvents, redirectTtlMs, pendingClaimTtlMs}; missing fields take the defaults. Validated (400 naming each path); applied at once on this instance and within IDENTITY_RULES_REFRESH_SECONDS on the others.',
  })
  @ApiBody({ type: RulesDocumentDto })
  @ApiOkResponse({ type: RulesResponse })
  async put(@Body() body: unknown): Promise<RulesResponse> {
    // The domain's parser validates the document as given (unknown fields, bounds, safe patterns).
    const result = await this.rules.save(requireJsonObject(body, 'invalid rules', 'rules must be a JSON object'), 'admin-api');
    if (!result.ok) throw badRequest(result.errors, 'invalid rules');
    return rulesView(result.loaded);
  }
}
