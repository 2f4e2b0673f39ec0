import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { type FastifyInstance, errorCodes } from 'fastify';
import { MAX_BATCH_BYTES } from '@mosaic/collector-domain';
import { ApiError } from '@mosaic/shared-service';

/**
 * Raw bodies: every content type is read as a Buffer (at most MAX_BATCH_BYTES after
 * decompression) and parsed by the domain, which knows Segment's rules (text/plain from
 * sendBeacon included). `Content-Encoding: gzip|deflate` is decompressed before the limit applies.
 */
export function configureCollectorFastify(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BATCH_BYTES }, (_req, body, done) => done(null, body));
  instance.addHook('preParsing', async (req, _reply, payload) => {
    const encoding = String(req.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase();
    if (encoding === 'identity' || encoding === '') return payload;
    if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
      throw new ApiError(415, 'unsupported_content_encoding', `Content-Encoding ${encoding} is not supported (use gzip, deflate or none)`);
    }
    return boundedInflate(payload, encoding === 'deflate' ? 'deflate' : 'gzip', MAX_BATCH_BYTES);
  });
}

/**
 * Decompresses `payload`, failing with Fastify's 413 as soon as more than `limit` bytes come
 * out, and stopping the inflater there: Fastify's own limit answers 413 but leaves the stream
 * flowing, so a 1 MB gzip of zeros would still be inflated to 1 GB. `onClosed` gets the
 * number of bytes the inflater produced in all, once it has stopped.
 */
export function boundedInflate(payload: Readable, encoding: 'gzip' | 'deflate', limit: number, onClosed?: (inflated: number) => void): Readable {
  const inflater = encoding === 'deflate' ? createInflate() : createGunzip();
  let inflated = 0;
  let passed = 0;
  let encoded = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      passed += chunk.length;
      if (passed <= limit) return done(null, chunk);
      // Stop inflating. The rest of the request is read and discarded (not paused: a
      // request never read to its end would hold its keep-alive connection forever).
      payload.off('data', countEncoded);
      payload.unpipe(inflater);
      payload.resume();
      inflater.destroy();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    },
  });
  const countEncoded = (chunk: Buffer): void => {
    encoded += chunk.length;
    // Fastify compares Content-Length with the encoded size when this is set.
    (limiter as unknown as { receivedEncodedLength: number }).receivedEncodedLength = encoded;
  };
  // Counts every byte the inflater emits, whoever reads it (pipe reads through 'data' too).
  inflater.on('data', (chunk: Buffer) => (inflated += chunk.length));
  inflater.on('close', () => onClosed?.(inflated));
  payload.on('data', countEncoded);
  payload.on('error', (err) => inflater.destroy(err));
  inflater.on('error', (err) => limiter.destroy(err));
  payload.pipe(inflater).pipe(limiter);
  return limiter;
}
