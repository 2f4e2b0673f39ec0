import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DeadLetterErrorView {
  @ApiProperty({ example: 'TypeError' }) name!: string;
  @ApiProperty() message!: string;
}

export class DeadLetterValueView {
  @ApiProperty({ nullable: true, type: String, description: 'the value as UTF-8 text, cut at 4,096 characters; null when it is not text' }) text!:
    string | null;
  @ApiProperty() binary!: boolean;
  @ApiProperty() truncated!: boolean;
  @ApiProperty() bytes!: number;
}

export class DeadLetterReplayView {
  @ApiProperty() count!: number;
  @ApiProperty() lastBy!: string;
  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' }) lastAt!: string;
}

export class DeadLetterView {
  @ApiProperty({ example: 'mosaic.dlq.enrichment:0:42', description: '`<dead-letter topic>:<partition>:<offset>`' }) id!: string;
  @ApiProperty({ example: 'mosaic.dlq.enrichment' }) topic!: string;
  @ApiProperty() partition!: number;
  @ApiProperty() offset!: string;
  @ApiProperty({ example: 'enrichment' }) service!: string;
  @ApiProperty({ example: 'mosaic.events.resolved' }) sourceTopic!: string;
  @ApiProperty() sourcePartition!: number;
  @ApiProperty() sourceOffset!: string;
  @ApiPropertyOptional() key?: string;
  @ApiProperty({ type: DeadLetterErrorView }) error!: DeadLetterErrorView;
  @ApiProperty() attempts!: number;
  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' }) failedAt!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers!: Record<string, string>;
  @ApiProperty({ type: DeadLetterValueView }) value!: DeadLetterValueView;
  @ApiProperty({ description: 'false when its source topic is not one a stage consumes (a dead delivery of activation is always replayable)' })
  replayable!: boolean;
  @ApiPropertyOptional({ type: DeadLetterReplayView, description: 'present once replayed from the console' }) replayed?: DeadLetterReplayView;
}

export class DeadLetterListView {
  @ApiProperty({ type: [String], description: 'the dead-letter topics' }) topics!: string[];
  @ApiProperty({ type: [DeadLetterView], description: 'newest first (at most 200 per topic)' }) deadLetters!: DeadLetterView[];
  @ApiProperty({ description: 'false while the console is still reading what the topics retain' }) complete!: boolean;
}

export class DeadLetterReplayResult {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['topic', 'delivery'], description: '`topic`: produced back to its source topic; `delivery`: activation delivers it again' })
  kind!: 'topic' | 'delivery';
  @ApiPropertyOptional({ description: 'the topic it was produced to (kind `topic`)' }) topic?: string;
  @ApiPropertyOptional({ description: 'the partition it was produced to (kind `topic`)' }) partition?: number;
  @ApiPropertyOptional({ description: 'the delivery activation sends again (kind `delivery`)' }) deliveryId?: string;
}
