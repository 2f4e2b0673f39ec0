import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ReadActivity } from '@mosaic/enrichment-application';
import { type ProfileDocument, ProfileRepository, documentToState, identifierKey } from '@mosaic/enrichment-data-access';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { TimelineQueryDto, encodeCursor, timelineQueryOf } from './timeline-query.dto';
import { type ParsedEvent, type VideoSessionGroup, groupVideoSessions, parse } from './video-timeline';

class ProfileResponse {
  @ApiProperty({ description: 'the id asked for' }) requestedId!: string;
  @ApiProperty({ description: 'the live profile that answered (differs from requestedId when that one was merged)' }) profileId!: string;
  @ApiProperty({ type: [String], description: 'redirects followed, from requestedId to profileId' }) path!: string[];
  @ApiProperty() redirected!: boolean;
  @ApiProperty({
    description:
      'the profile: id, version, known, identifiers, traits, computed (first/last seen, sessions, page and product views, products viewed, categories visited, first/last touch, device, bot, geo, category affinity, price tier, cart, orders, RFM, email, video, last exit page, daily buckets), mergedFrom, createdAt, updatedAt, expiresAt (anonymous profiles)',
  })
  profile!: Record<string, unknown>;
}

class TimelineEvent {
  @ApiProperty() messageId!: string;
  @ApiProperty({ description: 'event time (ISO-8601)' }) at!: string;
  @ApiProperty() receivedAt!: string;
  @ApiProperty({ example: 'track' }) type!: string;
  @ApiPropertyOptional({ example: 'Product Viewed' }) event?: string;
  @ApiProperty({ description: 'the profile the event was first applied to (differs after merges: events of merged-away profiles appear on the survivor)' })
  identifiers!: { type: string; value: string }[];
  @ApiProperty({ description: 'the event as the collector received it (properties, traits, context, …); for a video session, its newest event' }) raw!: Record<
    string,
    unknown
  >;
  @ApiPropertyOptional({
    description:
      'a video session (`event` is `Video Session`): id, key (content_asset_id), title, length, productId, startedAt, lastAt, watchedSeconds, shareWatched, watched (played intervals), seeksForward, seeksBack, skippedSeconds, rewoundSeconds, skippedShare, completed, seeks [{at, from, to}], events, messageIds',
  })
  videoSession?: Record<string, unknown>;
}

class TimelineResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ type: [TimelineEvent], description: 'newest first (a page may hold fewer than `limit` entries: video sessions are grouped)' })
  events!: TimelineEvent[];
  @ApiPropertyOptional({ description: 'pass as `cursor` for the next (older) page; absent on the last page' }) next?: string;
}

class ActivityResponse {
  @ApiProperty({ description: 'the id asked for' }) requestedId!: string;
  @ApiProperty({ description: 'the live profile that answered (differs from requestedId when that one was merged)' }) profileId!: string;
  @ApiProperty({ type: [String], description: 'redirects followed, from requestedId to profileId' }) path!: string[];
  @ApiProperty({
    type: 'array',
    items: { type: 'array', items: {} },
    example: [[1767261600000, 'page', 'page: /pricing', 0, 'msg-1', 1]],
    description:
      'the latest events, oldest first (by time, then id): [time (epoch ms), kind (page, click, form, email-open, email-click, video, order, other), label (event name, or `page: <name, path or url>`), identified (1: the event carried a userId or an identifier other than anonymousId), event id (messageId), anonymous (1: not identified and before the first identified entry)]',
  })
  entries!: unknown[][];
  @ApiProperty({ description: 'the digest keeps at most this many entries: with that many, older events may exist (the timeline API has them)' })
  max!: number;
  @ApiProperty({
    description:
      'false: the profile has no stored digest yet (stored before digests); these entries were built from its events, and its next event stores them',
  })
  stored!: boolean;
  @ApiPropertyOptional({ description: 'time of the first identified entry (ISO-8601)' }) identifiedSince?: string;
}

function profileView(doc: ProfileDocument): Record<string, unknown> {
  const state = documentToState(doc);
  return {
    id: state.profileId,
    version: state.version,
    known: doc.known,
    identifiers: state.identifiers,
    traits: state.traits,
    computed: state.computed,
    mergedFrom: state.mergedFrom,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    ...(doc.expiresAt ? { expiresAt: doc.expiresAt.toISOString() } : {}),
  };
}

function eventView({ doc: e, raw }: ParsedEvent): TimelineEvent {
  return {
    messageId: e._id,
    at: e.at.toISOString(),
    receivedAt: e.receivedAt.toISOString(),
    type: e.type,
    ...(e.name ? { event: e.name } : {}),
    identifiers: e.identifiers ?? [],
    raw,
  };
}

function entryView(x: ParsedEvent | VideoSessionGroup): TimelineEvent {
  if ('doc' in x) return eventView(x);
  return { ...eventView(x.newest), event: 'Video Session', videoSession: x.summary as unknown as Record<string, unknown> };
}

/** The profile API: profiles by id (redirects followed) or identifier, and their timelines. */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/profiles')
export class ProfilesController {
  constructor(
    @Inject(ProfileRepository) private readonly profiles: ProfileRepository,
    @Inject(ReadActivity) private readonly readActivity: ReadActivity,
  ) {}

  private async live(id: string): Promise<{ doc: ProfileDocument; path: string[] }> {
    if (id.length === 0 || id.length > 256) throw new ApiError(400, 'invalid_request', 'id: 1–256 characters');
    const { doc, path } = await this.profiles.resolve(id);
    if (doc && doc.status === 'active') return { doc, path };
    if (path.length <= 1) throw new ApiError(404, 'not_found', `profile ${id} not found`);
    throw new ApiError(404, 'not_found', `profile ${id} was merged (${path.join(' -> ')}), and the chain ends at a profile that no longer exists`);
  }

  @Get('by/:type/:value')
  @ApiOperation({
    summary: 'The live profile holding an identifier',
    description:
      'Types: userId, email, phone (E.164, as identity normalised it), anonymousId, external:<name>. Email is matched lower-cased. URL-encode the value.',
  })
  @ApiParam({ name: 'type', example: 'email' })
  @ApiParam({ name: 'value', example: 'ada@example.com' })
  @ApiOkResponse({ type: ProfileResponse })
  async byIdentifier(@Param('type') type: string, @Param('value') value: string): Promise<ProfileResponse> {
    if (!/^(userId|email|phone|anonymousId|external:[A-Za-z0-9_.-]{1,64})$/.test(type))
      throw new ApiError(400, 'invalid_identifier', `${type}: unknown identifier type (userId, email, phone, anonymousId, external:<name>)`);
    const v = type === 'email' ? value.trim().toLowerCase() : value.trim();
    if (v === '' || v.length > 512) throw new ApiError(400, 'invalid_identifier', `${type}: the value must be 1–512 characters`);
    const [found] = await this.profiles.findByIdentifierKey(identifierKey({ type, value: v }));
    if (!found) throw new ApiError(404, 'not_found', `no profile holds ${type}:${v}`);
    return this.get(found._id);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A profile with its traits and computed attributes. A merged profile answers with its survivor (profileId and path say so).' })
  @ApiOkResponse({ type: ProfileResponse })
  async get(@Param('id') id: string): Promise<ProfileResponse> {
    const { doc, path } = await this.live(id);
    return { requestedId: id, profileId: doc._id, path, redirected: doc._id !== id, profile: profileView(doc) };
  }

  @Get(':id/activity')
  @ApiOperation({
    summary: "The profile's activity digest: its latest events (up to max, 10,000 by default) as compact entries, in one small read",
    description:
      "Kept by enrichment as it applies events (merged on a merge, rebuilt on a split), so it costs one document read whatever the number of events; what the console draws a contact's timeline from. Event details: the timeline API. Entries older than the event retention are left out.",
  })
  @ApiOkResponse({ type: ActivityResponse })
  async activity(@Param('id') id: string): Promise<ActivityResponse> {
    const { doc, path } = await this.live(id);
    const view = await this.readActivity.execute(doc);
    return { requestedId: id, path, ...view };
  }

  @Get(':id/timeline')
  @ApiOperation({
    summary: 'The events of a profile, newest first, including those from before the visitor was known and those of profiles merged into it',
  })
  @ApiOkResponse({ type: TimelineResponse })
  async timeline(@Param('id') id: string, @Query() raw: TimelineQueryDto): Promise<TimelineResponse> {
    const { query, groupVideoSessions: grouped } = timelineQueryOf(raw);
    const { doc } = await this.live(id);
    const events = await this.profiles.timeline(doc._id, query);
    const last = events[events.length - 1];
    const page = events.map(parse);
    const entries = grouped ? await groupVideoSessions(this.profiles, doc._id, page) : page;
    return { profileId: doc._id, events: entries.map(entryView), ...(events.length === query.limit && last ? { next: encodeCursor(last) } : {}) };
  }
}
