import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { IngestMessages, type IngestRequest, type IngestResponse } from '@mosaic/collector-application';
import type { IngestRoute } from '@mosaic/collector-domain';

const SPEC = 'Segment HTTP Tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/)';
const ERRORS = [
  {
    status: 400,
    description:
      'invalid body or message: {error: {code, message, details.path}} names the field and the reason; a batch whose every message is refused: details {rejected (the first 100), rejectedCount}',
  },
  { status: 401, description: 'missing, unknown or revoked write key' },
  {
    status: 413,
    description:
      'message over 32 KB; request over 500 KB (after decompression); batch of more than 2,500 messages; batch-level context or integrations over 32 KB; ' +
      "a batch's events over 8 MB in all (its context and integrations are copied into every message). error.details.path names the part",
  },
  { status: 415, description: 'unsupported Content-Type or Content-Encoding' },
  {
    status: 429,
    description:
      'over a rate limit, named in error.details.limit: client_address (COLLECTOR_RATE_PER_IP requests a second per client address) or write_key (COLLECTOR_RATE_PER_KEY events a second per write key); ' +
      'nothing was stored; retry after Retry-After seconds',
  },
  { status: 503, description: 'Kafka did not acknowledge: nothing was stored; retry' },
];

/** The parts of a tracking request the use case reads (the body is raw: see http.ts). */
export function ingestRequest(route: IngestRoute, req: FastifyRequest): IngestRequest {
  return {
    route,
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    contentType: req.headers['content-type'],
    authorization: req.headers.authorization,
    ip: req.ip,
    userAgent: req.headers['user-agent'],
  };
}

function doc(summary: string, example: Record<string, unknown>) {
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    ApiOperation({ summary, description: `${SPEC}. Answers 200 only after Kafka acknowledged every accepted event.` })(target, key, descriptor);
    ApiBody({ schema: { type: 'object', additionalProperties: true, example } })(target, key, descriptor);
    ApiOkResponse({
      description:
        '{success: true, accepted, duplicates, rejected?, rejectedCount?}: rejected lists the first 100 refused messages of a batch as {index, messageId?, errors} ' +
        "(fewer when they hold over 1,000 errors), rejectedCount counts them all; a message is also refused (413 message_too_large) when it comes to over 34,816 bytes with the batch's context and integrations, its escaped keys and the collector's fields (32 KB + 2 KB)",
    })(target, key, descriptor);
    for (const e of ERRORS) ApiResponse(e)(target, key, descriptor);
  };
}

/** Public ingestion endpoints, authenticated by a source's write key. */
@ApiTags('ingestion (Segment HTTP Tracking API)')
@ApiBasicAuth('writeKey')
@Controller('v1')
export class TrackingController {
  constructor(@Inject(IngestMessages) private readonly ingest: IngestMessages) {}

  @Post('track')
  @HttpCode(200)
  @doc('Record an action', { anonymousId: 'a-1', event: 'Product Viewed', properties: { sku: 'CM-900', price: 899, category: 'coffee machines' } })
  track(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('track', req));
  }

  @Post('page')
  @HttpCode(200)
  @doc('Record a page view', { anonymousId: 'a-1', name: 'Home', properties: { url: 'https://shop.example.com/' } })
  page(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('page', req));
  }

  @Post('screen')
  @HttpCode(200)
  @doc('Record a mobile screen view', { userId: 'u-1', name: 'Cart' })
  screen(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('screen', req));
  }

  @Post('identify')
  @HttpCode(200)
  @doc('Tie a user to their traits', { userId: 'u-1', anonymousId: 'a-1', traits: { email: 'ada@example.com', firstName: 'Ada' } })
  identify(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('identify', req));
  }

  @Post('group')
  @HttpCode(200)
  @doc('Associate a user with a group', { userId: 'u-1', groupId: 'acme', traits: { name: 'Acme' } })
  group(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('group', req));
  }

  @Post('alias')
  @HttpCode(200)
  @doc('Merge two user identities', { previousId: 'a-1', userId: 'u-1' })
  alias(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('alias', req));
  }

  @Post('batch')
  @HttpCode(200)
  @doc('Send many messages at once (each with its own type)', {
    batch: [{ type: 'track', anonymousId: 'a-1', event: 'Product Added', properties: { sku: 'CM-900' } }],
    sentAt: '2026-01-01T00:00:00.000Z',
  })
  batch(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('batch', req));
  }
}
