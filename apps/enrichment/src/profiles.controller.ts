import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { type EventDocument, type ProfileDocument, type TimelineQuery, documentToState, identifierKey } from '@mosaic/enrichment-data-access';
import { AdminAuthGuard, ApiError, intQueryParam } from '@mosaic/shared-service';
import { EnrichmentService } from './enrichment.service';
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
  @ApiProperty({ description: 'the profile the event was first applied to (differs after merges: events of merged-away profiles appear on the survivor)' }) identifiers!: { type: string; value: string }[];
  @ApiProperty({ description: 'the event as the collector received it (properties, traits, context, …); for a video session, its newest event' }) raw!: Record<string, unknown>;
  @ApiPropertyOptional({
    description:
      'a video session (`event` is `Video Session`): id, key (content_asset_id), title, length, productId, startedAt, lastAt, watchedSeconds, shareWatched, watched (played intervals), seeksForward, seeksBack, skippedSeconds, rewoundSeconds, skippedShare, completed, seeks [{at, from, to}], events, messageIds',
  })
  videoSession?: Record<string, unknown>;
}

class TimelineResponse {
  @ApiProperty() profileId!: string;
  @ApiProperty({ type: [TimelineEvent], description: 'newest first (a page may hold fewer than `limit` entries: video sessions are grouped)' }) events!: TimelineEvent[];
  @ApiPropertyOptional({ description: 'pass as `cursor` for the next (older) page; absent on the last page' }) next?: string;
}

const TYPES = new Set(['track', 'page', 'screen', 'identify', 'group', 'alias']);

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
  return { messageId: e._id, at: e.at.toISOString(), receivedAt: e.receivedAt.toISOString(), type: e.type, ...(e.name ? { event: e.name } : {}), identifiers: e.identifiers ?? [], raw };
}

function entryView(x: ParsedEvent | VideoSessionGroup): TimelineEvent {
  if ('doc' in x) return eventView(x);
  return { ...eventView(x.newest), event: 'Video Session', videoSession: x.summary as unknown as Record<string, unknown> };
}

/** A query parameter given more than once arrives as an array. */
type QueryValue = string | string[] | undefined;

/** Every value of a list parameter: repeated (`?event=a&event=b`), comma-separated, or both. */
function list(v: QueryValue, name: string, max = 50): string[] | undefined {
  if (v === undefined) return undefined;
  const items = [...new Set((Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).map((s) => s.trim()).filter((s) => s !== ''))];
  if (items.length === 0 || items.length > max) throw new ApiError(400, 'invalid_request', `${name}: 1–${max} values (repeat the parameter or separate them with commas)`);
  return items;
}

function single(v: QueryValue, name: string): string | undefined {
  if (Array.isArray(v)) throw new ApiError(400, 'invalid_request', `${name}: give it once`);
  return v;
}

function date(raw: QueryValue, name: string): Date | undefined {
  const v = single(raw, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ApiError(400, 'invalid_request', `${name}: must be an ISO-8601 date`);
  return new Date(t);
}

function encodeCursor(e: EventDocument): string {
  return Buffer.from(JSON.stringify([e.at.getTime(), e._id])).toString('base64url');
}

function decodeCursor(raw: QueryValue): TimelineQuery['cursor'] {
  const v = single(raw, 'cursor');
  if (v === undefined) return undefined;
  try {
    const [t, id] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown[];
    if (typeof t === 'number' && Number.isFinite(t) && typeof id === 'string') return { at: new Date(t), id };
  } catch {
    // fall through
  }
  throw new ApiError(400, 'invalid_request', 'cursor: not a cursor this API returned (pass `next` of the previous page)');
}

/** The profile API: profiles by id (redirects followed) or identifier, and their timelines. */
@ApiTags('profiles (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/profiles')
export class ProfilesController {
  constructor(@Inject(EnrichmentService) private readonly enrichment: EnrichmentService) {}

  private async live(id: string): Promise<{ doc: ProfileDocument; path: string[] }> {
    if (id.length === 0 || id.length > 256) throw new ApiError(400, 'invalid_request', 'id: 1–256 characters');
    const { doc, path } = await this.enrichment.store.resolve(id);
    if (doc && doc.status === 'active') return { doc, path };
    if (path.length <= 1) throw new ApiError(404, 'not_found', `profile ${id} not found`);
    throw new ApiError(404, 'not_found', `profile ${id} was merged (${path.join(' -> ')}), and the chain ends at a profile that no longer exists`);
  }

  @Get('by/:type/:value')
  @ApiOperation({ summary: 'The live profile holding an identifier', description: 'Types: userId, email, phone (E.164, as identity normalised it), anonymousId, external:<name>. Email is matched lower-cased. URL-encode the value.' })
  @ApiParam({ name: 'type', example: 'email' })
  @ApiParam({ name: 'value', example: 'ada@example.com' })
  @ApiOkResponse({ type: ProfileResponse })
  async byIdentifier(@Param('type') type: string, @Param('value') value: string): Promise<ProfileResponse> {
    if (!/^(userId|email|phone|anonymousId|external:[A-Za-z0-9_.-]{1,64})$/.test(type)) throw new ApiError(400, 'invalid_identifier', `${type}: unknown identifier type (userId, email, phone, anonymousId, external:<name>)`);
    const v = type === 'email' ? value.trim().toLowerCase() : value.trim();
    if (v === '' || v.length > 512) throw new ApiError(400, 'invalid_identifier', `${type}: the value must be 1–512 characters`);
    const [found] = await this.enrichment.store.findByIdentifierKey(identifierKey({ type, value: v }));
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

  @Get(':id/timeline')
  @ApiOperation({
    summary: 'The events of a profile, newest first, including those from before the visitor was known and those of profiles merged into it',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: '`next` of the previous page' })
  @ApiQuery({ name: 'type', required: false, description: 'event types (any of them): track, page, screen, identify, group, alias; repeat the parameter or separate with commas' })
  @ApiQuery({ name: 'event', required: false, description: 'track event names (any of them), e.g. `event=Product Viewed&event=Order Completed` or `Product Viewed,Order Completed`' })
  @ApiQuery({ name: 'from', required: false, description: 'ISO-8601; events at or after' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO-8601; events before' })
  @ApiQuery({ name: 'videoSessions', required: false, description: '`true` (default): the video events of a session as one `Video Session` entry; `false`: every event' })
  @ApiOkResponse({ type: TimelineResponse })
  async timeline(
    @Param('id') id: string,
    @Query('limit') limitParam?: QueryValue,
    @Query('cursor') cursorRaw?: QueryValue,
    @Query('type') typeRaw?: QueryValue,
    @Query('event') eventRaw?: QueryValue,
    @Query('from') fromRaw?: QueryValue,
    @Query('to') toRaw?: QueryValue,
    @Query('videoSessions') videoRaw?: QueryValue,
  ): Promise<TimelineResponse> {
    const limit = intQueryParam('limit', single(limitParam, 'limit'), 50, 1, 1000);
    const types = list(typeRaw, 'type', 6);
    const bad = types?.find((t) => !TYPES.has(t));
    if (bad) throw new ApiError(400, 'invalid_request', `type: unknown event type ${JSON.stringify(bad)} (track, page, screen, identify, group, alias)`);
    const grouped = single(videoRaw, 'videoSessions') ?? 'true';
    if (grouped !== 'true' && grouped !== 'false') throw new ApiError(400, 'invalid_request', 'videoSessions: true or false');
    const query: TimelineQuery = { limit, cursor: decodeCursor(cursorRaw), types, names: list(eventRaw, 'event'), from: date(fromRaw, 'from'), to: date(toRaw, 'to') };
    const { doc } = await this.live(id);
    const events = await this.enrichment.store.timeline(doc._id, query);
    const last = events[events.length - 1];
    const page = events.map(parse);
    const entries = grouped === 'true' ? await groupVideoSessions(this.enrichment.store, doc._id, page) : page;
    return { profileId: doc._id, events: entries.map(entryView), ...(events.length === limit && last ? { next: encodeCursor(last) } : {}) };
  }
}
