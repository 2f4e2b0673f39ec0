// Decompression of request bodies stops at the size limit: a small gzip that inflates to
// 1 GiB costs about the limit in output, not 1 GiB.
import { Readable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import { MAX_BATCH_BYTES } from '@mosaic/collector-domain';
import { boundedInflate } from './http';

const MiB = 1024 * 1024;
// Gzip members concatenated form one valid gzip stream: ~1 MB that inflates to 1 GiB.
const BOMB = Buffer.concat(Array.from({ length: 64 }, () => gzipSync(Buffer.alloc(16 * MiB))));

/** A request-like stream handing out `body` in 1 KB chunks. */
function requestOf(body: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      const chunk = body.subarray(offset, offset + 1024);
      offset += chunk.length;
      this.push(chunk.length ? chunk : null);
    },
  });
}

interface Outcome {
  body: Buffer;
  error?: Error & { statusCode?: number; code?: string };
  inflated: number;
}

/** Reads the bounded stream to its end or error, then waits until the inflater has stopped. */
function inflate(body: Buffer, encoding: 'gzip' | 'deflate'): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Outcome['error'];
    let settled = false;
    let inflated: number | undefined;
    const done = (): void => {
      if (settled && inflated !== undefined) resolve({ body: Buffer.concat(chunks), error, inflated });
    };
    const out = boundedInflate(requestOf(body), encoding, MAX_BATCH_BYTES, (total) => {
      inflated = total;
      done();
    });
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    out.on('end', () => ((settled = true), done()));
    out.on('error', (err) => ((error = err), (settled = true), done()));
  });
}

describe('boundedInflate', () => {
  it('fails a gzip bomb with 413 and stops inflating at the limit', async () => {
    const outcome = await inflate(BOMB, 'gzip');
    expect(outcome.error).toMatchObject({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(outcome.body.length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    // Bounded by the limit plus what was in flight (zlib chunks of 16 KB, stream buffers), not 1 GiB.
    expect(outcome.inflated).toBeLessThan(MAX_BATCH_BYTES + 256 * 1024);
  });

  it('does the same for deflate', async () => {
    const outcome = await inflate(deflateSync(Buffer.alloc(64 * MiB)), 'deflate');
    expect(outcome.error).toMatchObject({ statusCode: 413 });
    expect(outcome.inflated).toBeLessThan(MAX_BATCH_BYTES + 256 * 1024);
  });

  it('passes a body of exactly the limit through unchanged', async () => {
    const plain = Buffer.alloc(MAX_BATCH_BYTES, 'x');
    const outcome = await inflate(gzipSync(plain), 'gzip');
    expect(outcome.error).toBeUndefined();
    expect(outcome.body.equals(plain)).toBe(true);
    expect(outcome.inflated).toBe(MAX_BATCH_BYTES);
  });

  it('fails a body one byte over the limit', async () => {
    const outcome = await inflate(gzipSync(Buffer.alloc(MAX_BATCH_BYTES + 1, 'x')), 'gzip');
    expect(outcome.error).toMatchObject({ statusCode: 413 });
  });

  it('passes zlib errors on (broken input)', async () => {
    const outcome = await inflate(Buffer.from('not gzip at all'), 'gzip');
    expect(outcome.error).toMatchObject({ code: 'Z_DATA_ERROR' });
  });
});
