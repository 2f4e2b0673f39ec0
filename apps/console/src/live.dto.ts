import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class LiveIdentifiersView {
  @ApiPropertyOptional() userId?: string;
  @ApiPropertyOptional() email?: string;
}

export class LiveMembershipView {
  @ApiProperty({ example: 'p_01HX…' }) profileId!: string;
  @ApiProperty({ example: 'high-ltv' }) segmentKey!: string;
  @ApiProperty({ enum: ['entered', 'exited'] }) change!: 'entered' | 'exited';
  @ApiProperty({ example: '2026-12-06T10:00:00.000Z', description: 'when segmentation decided it' }) at!: string;
  @ApiProperty({ type: LiveIdentifiersView }) identifiers!: LiveIdentifiersView;
}

class DeadLetterCountView {
  @ApiProperty({ example: 'mosaic.dlq.identity' }) topic!: string;
  @ApiProperty({ type: Number, nullable: true, description: 'messages the topic holds (high − low watermark over its partitions); null when unreadable' })
  count!: number | null;
}

class FollowersView {
  @ApiProperty({ description: 'the events.raw consumer is connected' }) eventsRaw!: boolean;
  @ApiProperty({ description: 'the segments.membership consumer is connected' }) membership!: boolean;
}

class SkippedView {
  @ApiProperty() eventsRaw!: number;
  @ApiProperty() membership!: number;
}

export class LiveSnapshotView {
  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' }) at!: string;
  @ApiProperty({ description: 'events.raw records per second, averaged over the last 10 complete seconds (arrival time)' }) eventsPerSecond!: number;
  @ApiProperty({ description: 'distinct visitors (anonymousId, else userId) with an event in the last 5 minutes (arrival time)' }) activeVisitors!: number;
  @ApiProperty({ type: [LiveMembershipView], description: 'the newest 50 entries and exits, newest first' }) recentMemberships!: LiveMembershipView[];
  @ApiProperty({ type: [DeadLetterCountView] }) deadLetters!: DeadLetterCountView[];
  @ApiProperty({ type: FollowersView }) followers!: FollowersView;
  @ApiProperty({ type: SkippedView, description: 'records skipped since start-up because they could not be read' }) skipped!: SkippedView;
}
