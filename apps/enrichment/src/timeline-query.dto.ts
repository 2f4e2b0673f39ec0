/**
 * The timeline's query parameters. A parameter given more than once arrives as an array: list
 * parameters take every value (repeated, comma-separated, or both), the others must be given
 * once. The messages name the parameter and what it takes (the API's 400 `invalid_request`).
 */
import { ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { IsOptional, ValidateBy, validateSync, type ValidationArguments } from 'class-validator';
import type { EventDocument, TimelineQuery } from '@mosaic/enrichment-data-access';
import { ApiError } from '@mosaic/shared-service';

/** A query parameter given more than once arrives as an array. */
type QueryValue = string | string[];

const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'];
const LIST_MAX = { type: EVENT_TYPES.length, event: 50 } as const;

/** Every value of a list parameter, de-duplicated. */
function listOf(v: QueryValue): string[] {
  return [
    ...new Set(
      (Array.isArray(v) ? v : [v])
        .flatMap((x) => x.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

export function encodeCursor(e: EventDocument): string {
  return Buffer.from(JSON.stringify([e.at.getTime(), e._id])).toString('base64url');
}

function decodeCursor(v: string): TimelineQuery['cursor'] {
  try {
    const [t, id] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown[];
    if (typeof t === 'number' && Number.isFinite(t) && typeof id === 'string') return { at: new Date(t), id };
  } catch {
    // not JSON: not ours
  }
  return undefined;
}

function isIntInRange(v: string, min: number, max: number): boolean {
  const n = Number(v);
  return v === '' || (Number.isInteger(n) && n >= min && n <= max);
}

/** A parameter given once whose value passes `ok`; `problem` says what is wrong with one that does not. */
function Once(ok: (v: string) => boolean, problem: (property: string, v: string) => string): PropertyDecorator {
  return ValidateBy({
    name: 'once',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && ok(v),
      defaultMessage: (a?: ValidationArguments) => (typeof a?.value === 'string' ? problem(a.property, a.value) : `${a?.property}: give it once`),
    },
  });
}

/** A list parameter: 1–`max` values, each passing `ok` when given. */
function List(max: number, ok: (v: string) => boolean = () => true, problem?: (property: string, v: string) => string): PropertyDecorator {
  const values = (v: unknown) => listOf(v as QueryValue);
  return ValidateBy({
    name: 'list',
    validator: {
      validate: (v: unknown) => (typeof v === 'string' || Array.isArray(v)) && values(v).length >= 1 && values(v).length <= max && values(v).every(ok),
      defaultMessage: (a?: ValidationArguments) => {
        const items = values(a?.value ?? []);
        const bad = items.find((x) => !ok(x));
        if (items.length >= 1 && items.length <= max && bad !== undefined && problem) return problem(a?.property ?? '', bad);
        return `${a?.property}: 1–${max} values (repeat the parameter or separate them with commas)`;
      },
    },
  });
}

export class TimelineQueryDto {
  @ApiPropertyOptional({ type: 'integer', description: '1–1000, default 50' })
  @IsOptional()
  @Once((v) => isIntInRange(v, 1, 1000), (p) => `${p}: must be an integer from 1 to 1000`)
  limit?: QueryValue;

  @ApiPropertyOptional({
    type: [String],
    description: 'event types (any of them): track, page, screen, identify, group, alias; repeat the parameter or separate with commas',
  })
  @IsOptional()
  @List(LIST_MAX.type, (t) => EVENT_TYPES.includes(t), (p, t) => `${p}: unknown event type ${JSON.stringify(t)} (${EVENT_TYPES.join(', ')})`)
  type?: QueryValue;

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: '`true` (default): the video events of a session as one `Video Session` entry; `false`: every event',
  })
  @IsOptional()
  @Once((v) => v === 'true' || v === 'false', (p) => `${p}: true or false`)
  videoSessions?: QueryValue;

  @ApiPropertyOptional({ type: String, description: '`next` of the previous page' })
  @IsOptional()
  @Once((v) => decodeCursor(v) !== undefined, (p) => `${p}: not a cursor this API returned (pass \`next\` of the previous page)`)
  cursor?: QueryValue;

  @ApiPropertyOptional({
    type: [String],
    description: 'track event names (any of them), e.g. `event=Product Viewed&event=Order Completed` or `Product Viewed,Order Completed`',
  })
  @IsOptional()
  @List(LIST_MAX.event)
  event?: QueryValue;

  @ApiPropertyOptional({ type: String, description: 'ISO-8601; events at or after' })
  @IsOptional()
  @Once((v) => !Number.isNaN(Date.parse(v)), (p) => `${p}: must be an ISO-8601 date`)
  from?: QueryValue;

  @ApiPropertyOptional({ type: String, description: 'ISO-8601; events before' })
  @IsOptional()
  @Once((v) => !Number.isNaN(Date.parse(v)), (p) => `${p}: must be an ISO-8601 date`)
  to?: QueryValue;
}

/** The validated query as the repository takes it, and whether video sessions are grouped (400 `invalid_request` naming the first problem). */
export function timelineQueryOf(raw: unknown): { query: TimelineQuery; groupVideoSessions: boolean } {
  const dto = plainToInstance(TimelineQueryDto, raw ?? {});
  const [first] = validateSync(dto, { stopAtFirstError: true });
  if (first) throw new ApiError(400, 'invalid_request', Object.values(first.constraints ?? {})[0] ?? `${first.property}: invalid`);
  const single = (v: QueryValue | undefined) => v as string | undefined;
  const date = (v: QueryValue | undefined) => (v === undefined ? undefined : new Date(Date.parse(single(v) as string)));
  const limit = single(dto.limit);
  return {
    query: {
      limit: limit === undefined || limit === '' ? 50 : Number(limit),
      cursor: dto.cursor === undefined ? undefined : decodeCursor(single(dto.cursor) as string),
      types: dto.type === undefined ? undefined : listOf(dto.type),
      names: dto.event === undefined ? undefined : listOf(dto.event),
      from: date(dto.from),
      to: date(dto.to),
    },
    groupVideoSessions: (single(dto.videoSessions) ?? 'true') === 'true',
  };
}
