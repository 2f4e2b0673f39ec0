import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { SegmentationService } from './segmentation.service';

class MembershipView {
  @ApiProperty() segmentKey!: string;
  @ApiProperty({ description: 'the segment version the profile was last evaluated under' }) segmentVersion!: number;
  @ApiProperty({ description: 'when it entered' }) since!: string;
}

class ProfileSegmentsResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ type: [MembershipView] }) segments!: MembershipView[];
  @ApiProperty({ description: 'the per-profile version of segments.membership messages' }) membershipVersion!: number;
  @ApiPropertyOptional({ description: 'the next time a segment of this profile can change with no new event' }) nextTimerAt!: string | null;
  @ApiPropertyOptional({ description: 'set when the profile was merged into another' }) mergedInto?: string;
}

/** A profile's current segments, as stored by segmentation (no recomputation). */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/profiles')
export class MembershipsController {
  constructor(@Inject(SegmentationService) private readonly segmentation: SegmentationService) {}

  @Get(':id/segments')
  @ApiOperation({ summary: "The profile's segments (after exclusivity groups), with when it entered each" })
  async segments(@Param('id') id: string): Promise<ProfileSegmentsResponse> {
    if (id.length === 0 || id.length > 256) throw new ApiError(400, 'invalid_request', 'id: must be 1–256 characters');
    const loaded = (await this.segmentation.profiles.load([id])).get(id);
    if (!loaded?.doc) throw new ApiError(404, 'not_found', `profile ${id} has no segment state (segmentation has not seen a change of it)`);
    const s = loaded.state;
    return {
      profileId: id,
      segments: Object.entries(s.memberships)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([segmentKey, m]) => ({ segmentKey, segmentVersion: m.version, since: m.since })),
      membershipVersion: s.membershipVersion,
      nextTimerAt: loaded.doc.timerAt ? loaded.doc.timerAt.toISOString() : null,
      ...(s.mergedInto ? { mergedInto: s.mergedInto } : {}),
    };
  }
}
