import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { describeReason, isEntryReason, type EntryReason, type Membership } from '@mosaic/segmentation-domain';
import { SegmentationService } from './segmentation.service';

class EntryTriggerView {
  @ApiProperty({ enum: ['event', 'profile', 'timer', 'backfill', 'merge', 'clustering'], description: 'what made segmentation evaluate the profile' })
  kind!: string;
  @ApiPropertyOptional({ description: 'event: its name (`(identify)`, `(page)`, … for calls other than track)' }) event?: string;
  @ApiPropertyOptional({ description: "the trigger's message id (the event's, or the profile change's)" }) messageId?: string;
  @ApiPropertyOptional({ description: "event: the event's time" }) at?: string;
  @ApiPropertyOptional({ type: [String], description: 'profile paths that changed with it (at most 5)' }) changed?: string[];
  @ApiPropertyOptional({ description: 'profile: the upstream kind (`split`, `rfm`); backfill: the segment; merge: the other profile; clustering: the job' })
  detail?: string;
}

class EntryReasonView {
  @ApiProperty({ type: EntryTriggerView }) trigger!: EntryTriggerView;
  @ApiProperty({
    type: [String],
    description: "the definition's conditions that held at entry, in words with the profile's values (at most 4, each at most 160 characters)",
  })
  matched!: string[];
  @ApiPropertyOptional({ description: 'how many more conditions held than `matched` lists' }) moreMatched?: number;
}

class MembershipView {
  @ApiProperty() segmentKey!: string;
  @ApiProperty({ description: 'the segment version the profile was last evaluated under' }) segmentVersion!: number;
  @ApiProperty({ description: 'when it entered' }) since!: string;
  @ApiProperty({ type: EntryReasonView, nullable: true, description: 'why it entered; null for memberships entered before reasons were recorded' })
  reason!: EntryReasonView | null;
  @ApiProperty({ description: 'the reason in one line (`triggered by event … : …`), or "entered before reasons were recorded"' }) why!: string;
}

class ProfileSegmentsResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ type: [MembershipView] }) segments!: MembershipView[];
  @ApiProperty({ description: 'the per-profile version of segments.membership messages' }) membershipVersion!: number;
  @ApiPropertyOptional({ description: 'the next time a segment of this profile can change with no new event' }) nextTimerAt!: string | null;
  @ApiPropertyOptional({ description: 'set when the profile was merged into another' }) mergedInto?: string;
}

function membershipView(segmentKey: string, m: Membership): MembershipView {
  // states written before reasons were recorded have none: say so rather than fail
  const reason: EntryReason | null = isEntryReason(m.reason) ? m.reason : null;
  return { segmentKey, segmentVersion: m.version, since: m.since, reason, why: describeReason(reason ?? undefined) };
}

/** A profile's current segments, as stored by segmentation (no recomputation). */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/profiles')
export class MembershipsController {
  constructor(@Inject(SegmentationService) private readonly segmentation: SegmentationService) {}

  @Get(':id/segments')
  @ApiOperation({ summary: "The profile's segments (after exclusivity groups), with when and why it entered each" })
  async segments(@Param('id') id: string): Promise<ProfileSegmentsResponse> {
    if (id.length === 0 || id.length > 256) throw new ApiError(400, 'invalid_request', 'id: must be 1–256 characters');
    const loaded = (await this.segmentation.profiles.load([id])).get(id);
    if (!loaded?.doc) throw new ApiError(404, 'not_found', `profile ${id} has no segment state (segmentation has not seen a change of it)`);
    const s = loaded.state;
    return {
      profileId: id,
      segments: Object.entries(s.memberships)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([segmentKey, m]) => membershipView(segmentKey, m)),
      membershipVersion: s.membershipVersion,
      nextTimerAt: loaded.doc.timerAt ? loaded.doc.timerAt.toISOString() : null,
      ...(s.mergedInto ? { mergedInto: s.mergedInto } : {}),
    };
  }
}
