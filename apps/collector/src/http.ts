import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
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
    const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') return payload;
    if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
      throw new ApiError(415, 'unsupported_content_encoding', `Content-Encoding ${encoding} is not supported (use gzip, deflate or none)`);
    }
    const inflater = encoding === 'deflate' ? createInflate() : createGunzip();
    let encoded = 0;
    payload.on('data', (chunk: Buffer) => {
      encoded += chunk.length;
      // Fastify compares Content-Length with the encoded size when this is set.
      (inflater as unknown as { receivedEncodedLength: number }).receivedEncodedLength = encoded;
    });
    payload.on('error', (err) => inflater.destroy(err));
    inflater.on('error', () => undefined);
    payload.pipe(inflater);
    return inflater;
  });
}
