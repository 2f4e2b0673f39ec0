import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { MAX_LIST_LIMIT, parseProfileListQuery, type ProfileListQueryInput } from '@mosaic/segmentation-domain';
import type { ProfilePage } from '@mosaic/segmentation-application';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { listPage } from './list-page';
import { SegmentationService } from './segmentation.service';

const ZONE_RULE = 'with Z or an offset (2026-12-01T00:00:00Z, 2026-11-30T19:00:00-05:00; + is %2B in a URL); without a zone: 400';

/** The query (checked by the domain's `parseProfileListQuery`; declared here for OpenAPI). */
class ProfileListQueryDto implements ProfileListQueryInput {
  @ApiPropertyOptional({ description: 'only profiles in this segment (a segment key)' }) segment?: string;
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description:
      'true: with an identifier other than an anonymousId; false: anonymous only; absent: both (applied to what the reads return: profiles of the other kind count as documents read)',
  })
  known?: string;
  @ApiPropertyOptional({ description: `last seen at or after this ISO 8601 date-time, ${ZONE_RULE}` }) seenAfter?: string;
  @ApiPropertyOptional({ description: `last seen before this ISO 8601 date-time, ${ZONE_RULE}` }) seenBefore?: string;
  @ApiPropertyOptional({ description: `rows per page, 1–${MAX_LIST_LIMIT}, default 50` }) limit?: string;
  @ApiPropertyOptional({ description: 'the `next` of the previous page, with the same filters' }) cursor?: string;
}

class ProfileRowView {
  @ApiProperty() profileId!: string;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty({ description: 'has an identifier other than an anonymousId' }) known!: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'the latest event time' }) lastSeenAt!: string | null;
  @ApiProperty({ type: [String] }) segments!: string[];
}

class ScannedView {
  @ApiProperty({ description: 'indexed reads this request made' }) queries!: number;
  @ApiProperty({ description: 'documents the store returned, matching or not (at most SEGMENTATION_LIST_MAX_DOCUMENTS: every read is capped)' })
  documents!: number;
  @ApiProperty({ description: 'shards walked (of 4096)' }) shards!: number;
}

class ProfilePageView implements ProfilePage {
  @ApiProperty({ type: [ProfileRowView] }) profiles!: ProfileRowView[];
  @ApiProperty({ nullable: true, type: String, description: 'cursor of the next page; null at the end of the list' }) next!: string | null;
  @ApiProperty({ description: 'the scan budget ran out before the page was full (fewer rows than limit; follow next for more)' }) partial!: boolean;
  @ApiProperty({ type: ScannedView }) scanned!: ScannedView;
  @ApiProperty({ description: 'share of the list walked so far, 0–1' }) progress!: number;
}

/** The contact list: every profile segmentation holds, filtered, in pages (docs/segmentation.md, "Contact list"). */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/profiles')
export class ProfileListController {
  constructor(@Inject(SegmentationService) private readonly segmentation: SegmentationService) {}

  @Get()
  @ApiOperation({
    summary:
      'Profiles filtered by segment, known/anonymous and last seen, in a stable order, a page at a time (cursor). Each page costs the same at any depth; a sparse filter may answer a partial page (partial: true) with a cursor to continue',
  })
  @ApiOkResponse({ type: ProfilePageView })
  async list(@Query() query: ProfileListQueryDto): Promise<ProfilePageView> {
    const parsed = parseProfileListQuery(query ?? {});
    if (!parsed.ok) throw new ApiError(400, 'invalid_request', parsed.message);
    const segment = parsed.query.filter.segment;
    if (segment !== undefined && !(await this.segmentation.definitions.get(segment))) throw new ApiError(404, 'not_found', `segment ${segment} not found`);
    return listPage(this.segmentation.listProfiles, parsed.query);
  }
}
