import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { replayTarget, valuePreview, type DeadLetterEntry } from '@mosaic/console-domain';
import { ReplayDeadLetter } from '@mosaic/console-application';
import { DeadLetterBrowser, DeadLetterReplaysRepository, UpstreamError, type DeadLetterReplayMark } from '@mosaic/console-data-access';
import { ApiError, MOSAIC_LOGGER } from '@mosaic/shared-service';
import type { Logger } from '@mosaic/shared-logging';
import { SignedInGuard } from './console-auth.guard';
import { DeadLetterListView, DeadLetterReplayResult, type DeadLetterView } from './dead-letters.dto';
import { upstreamFailure } from './http';
import type { ConsoleRequest } from './session-cookie';
import { REPLAYABLE_TOPICS } from './console.tokens';

const REPLAY_REFUSALS = { forbidden: 403, not_found: 404, not_replayable: 409 } as const;

/** Dead letters of every stage: the list for any signed-in role, replay for editors and admins. */
@ApiTags('dead letters')
@UseGuards(SignedInGuard)
@Controller('api/dead-letters')
export class DeadLettersController {
  constructor(
    @Inject(DeadLetterBrowser) private readonly browser: DeadLetterBrowser,
    @Inject(DeadLetterReplaysRepository) private readonly replays: DeadLetterReplaysRepository,
    @Inject(ReplayDeadLetter) private readonly replay: ReplayDeadLetter,
    @Inject(REPLAYABLE_TOPICS) private readonly replayable: ReadonlySet<string>,
    @Inject(MOSAIC_LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The latest dead letters (this console instance keeps the newest 200 of each dead-letter topic), newest first; 400 for a topic that is not one',
  })
  @ApiQuery({ name: 'topic', required: false, description: 'one dead-letter topic (default: all)' })
  @ApiOkResponse({ type: DeadLetterListView })
  async list(@Query('topic') topic?: string): Promise<DeadLetterListView> {
    if (topic !== undefined && !this.browser.topics.includes(topic)) {
      throw new ApiError(400, 'invalid_topic', `topic must be one of ${this.browser.topics.join(', ')}`);
    }
    const entries = this.browser.list(topic);
    const marks = await this.marksOf(topic === undefined ? this.browser.topics : [topic]);
    return { topics: [...this.browser.topics], deadLetters: entries.map((e) => this.view(e, marks.get(e.id))), complete: this.browser.caughtUp };
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Replay a dead letter: a message a stage could not process goes back, with its original key, value and headers (plus `replayOf`), to its source topic and partition; a dead delivery of activation (a letter with a `deliveryId` header) is delivered again by activation (`POST /v1/deliveries/{id}/replay`). 403 for viewers, 404 unknown, 409 not replayable (or the delivery is no longer dead), 502/504 when activation fails',
  })
  @ApiOkResponse({ type: DeadLetterReplayResult })
  async replayOne(@Req() req: ConsoleRequest, @Param('id') id: string): Promise<DeadLetterReplayResult> {
    const user = req.consoleUser as NonNullable<ConsoleRequest['consoleUser']>;
    const r = await this.replay.execute(id, user).catch((err: unknown) => {
      throw err instanceof UpstreamError ? upstreamFailure(err) : err;
    });
    if (!r.ok) throw new ApiError(REPLAY_REFUSALS[r.reason], r.reason, r.message);
    this.logger.info({ deadLetter: id, ...r.sent, by: user.username }, 'console: dead letter replayed');
    if (!r.recorded) this.logger.warn({ deadLetter: id, err: r.recordError }, 'console: dead letter replayed, but its replay mark could not be written');
    return { id, ...r.sent };
  }

  private async marksOf(topics: readonly string[]): Promise<Map<string, DeadLetterReplayMark>> {
    const maps = await Promise.all(topics.map((t) => this.replays.ofTopic(t)));
    return new Map(maps.flatMap((m) => [...m]));
  }

  private view(e: DeadLetterEntry, mark: DeadLetterReplayMark | undefined): DeadLetterView {
    const r = e.record;
    return {
      id: e.id,
      topic: e.topic,
      partition: e.partition,
      offset: e.offset,
      service: r.service,
      sourceTopic: r.sourceTopic,
      sourcePartition: r.partition,
      sourceOffset: r.offset,
      ...(r.key === undefined ? {} : { key: r.key }),
      error: { name: r.error.name, message: r.error.message },
      attempts: r.attempts,
      failedAt: r.failedAt,
      headers: r.headers,
      value: valuePreview(r.valueBase64),
      replayable: replayTarget(r, this.replayable).ok,
      ...(mark ? { replayed: { count: mark.count, lastBy: mark.lastBy, lastAt: mark.lastAt.toISOString() } } : {}),
    };
  }
}
