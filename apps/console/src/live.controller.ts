import { Controller, Get, Inject, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { LiveFeed } from '@mosaic/console-data-access';
import { SignedInGuard } from './console-auth.guard';
import { LiveSnapshotView } from './live.dto';
import { LiveStreams } from './live-streams';

/** The live view of the pipeline (any signed-in role; read-only, so no CSRF token). */
@ApiTags('live')
@UseGuards(SignedInGuard)
@Controller('api/live')
export class LiveController {
  constructor(
    @Inject(LiveFeed) private readonly feed: LiveFeed,
    @Inject(LiveStreams) private readonly streams: LiveStreams,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Events per second, active visitors, the latest segment entries and exits, dead letters per topic (this console instance’s view)' })
  @ApiOkResponse({ type: LiveSnapshotView })
  snapshot(): Promise<LiveSnapshotView> {
    return this.feed.snapshot();
  }

  @Get('stream')
  @ApiOperation({
    summary: 'Server-sent events: `snapshot` (the JSON of GET /api/live) every second, `membership` for each entry or exit as it arrives',
    description: 'Ends when the client disconnects or the console shuts down; EventSource reconnects by itself.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream' })
  stream(@Res() reply: FastifyReply): void {
    this.streams.open(reply);
  }
}
