import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { LookUpIdentifier, normalizeIdentifier } from '@mosaic/identity-application';
import type { Identifier, IdentifierRecord } from '@mosaic/identity-domain';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { IdentityLookupResponse } from './identities.dto';

function parseIdentifierParams(type: string, value: string): Identifier {
  const normalized = normalizeIdentifier(type, value);
  if (!normalized.ok) throw new ApiError(400, 'invalid_identifier', `${type}/${value}: ${normalized.message}`);
  return normalized.identifier;
}

function recordView(record: IdentifierRecord): Record<string, unknown> {
  const { _id: _key, type: _type, value: _value, ...rest } = record;
  return rest;
}

/** `GET /v1/identities/{type}/{value}`: who an identifier belongs to. */
@ApiTags('identities (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/identities')
export class IdentitiesController {
  constructor(@Inject(LookUpIdentifier) private readonly lookUpIdentifier: LookUpIdentifier) {}

  @Get(':type/:value')
  @ApiOperation({
    summary: 'The live profile of an identifier (redirects followed) and its identity document',
    description: 'Email and phone values are normalised as events are (lower-cased; E.164). URL-encode the value.',
  })
  @ApiParam({ name: 'type', example: 'email' })
  @ApiParam({ name: 'value', example: 'ada@example.com' })
  @ApiOkResponse({ type: IdentityLookupResponse })
  async lookup(@Param('type') type: string, @Param('value') value: string): Promise<IdentityLookupResponse> {
    const identifier = parseIdentifierParams(type, value);
    const found = await this.lookUpIdentifier.execute(identifier);
    if (!found) throw new ApiError(404, 'not_found', `identifier ${identifier.type}:${identifier.value} is not known`);
    const { record, chain } = found;
    return { identifier, profileId: chain.state === 'live' ? chain.profile._id : null, path: chain.path, record: recordView(record) };
  }
}
