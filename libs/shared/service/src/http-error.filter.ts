import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import type { Logger } from '@mosaic/shared-logging';
import { ApiError, type ErrorBody } from './errors';

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'unsupported Content-Type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body', message: 'request body is empty' },
  Z_DATA_ERROR: { status: 400, code: 'invalid_compressed_body', message: 'the body is not valid for its Content-Encoding' },
  Z_BUF_ERROR: { status: 400, code: 'invalid_compressed_body', message: 'the compressed body is truncated' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body' },
};

/**
 * A write that Kafka did not acknowledge in time (an admin change announced on a topic, a split
 * notice): the client can retry later, as the event endpoints already tell it, so it is a 503
 * with Retry-After, not an internal error.
 */
export function kafkaUnavailable(err: ProducerUnavailableError): ApiError {
  return new ApiError(
    503,
    'kafka_unavailable',
    `Kafka did not acknowledge in time (${err.message}): the change may be stored but not yet announced; retry later`,
    undefined,
    { 'Retry-After': '5' },
  );
}

function codeFor(status: number): string {
  return (HttpStatus[status] ?? 'error').toLowerCase();
}

/** Maps every error to `{error: {status, code, message}}`; 5xx are logged, never leaked. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw thrown;
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    let body: ErrorBody;
    let headers: Record<string, string> = {};
    if (thrown instanceof ProducerUnavailableError) this.logger.warn({ err: thrown, method: request.method, url: request.url }, 'Kafka unavailable');
    const exception = thrown instanceof ProducerUnavailableError ? kafkaUnavailable(thrown) : thrown;
    if (exception instanceof ApiError) {
      body = exception.getResponse() as ErrorBody;
      headers = exception.headers;
    } else if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      const message =
        typeof res === 'string'
          ? res
          : Array.isArray((res as { message?: unknown }).message)
            ? (res as { message: string[] }).message.join('; ')
            : String((res as { message?: unknown }).message ?? exception.message);
      body = { error: { status, code: codeFor(status), message } };
    } else if (
      typeof exception === 'object' &&
      exception !== null &&
      typeof (exception as { code?: unknown }).code === 'string' &&
      FASTIFY_CODES[(exception as { code: string }).code]
    ) {
      const known = FASTIFY_CODES[(exception as { code: string }).code]!;
      body = { error: { status: known.status, code: known.code, message: known.message } };
    } else if (
      typeof exception === 'object' &&
      exception !== null &&
      typeof (exception as { statusCode?: unknown }).statusCode === 'number' &&
      (exception as { statusCode: number }).statusCode < 500
    ) {
      const status = (exception as { statusCode: number }).statusCode;
      body = { error: { status, code: codeFor(status), message: (exception as Error).message } };
    } else {
      this.logger.error({ err: exception, method: request.method, url: request.url }, 'unhandled error');
      body = { error: { status: 500, code: 'internal_error', message: 'internal error' } };
    }
    if (body.error.status >= 500 && !(exception instanceof ApiError)) {
      this.logger.error({ err: exception, method: request.method, url: request.url }, 'request failed');
    }
    void reply.status(body.error.status).headers(headers).send(body);
  }
}
