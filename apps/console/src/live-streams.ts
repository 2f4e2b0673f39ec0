import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LiveFeed } from '@mosaic/console-data-access';

const SNAPSHOT_INTERVAL_MS = 1_000;

/** A hijacked reply skips the console's onSend hook: the same security headers, set here. */
const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  Connection: 'keep-alive',
  // A reverse proxy must pass each event on at once, not buffer the stream.
  'X-Accel-Buffering': 'no',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/**
 * The live feed's lifetime (it follows Kafka while the console runs) and the open event
 * streams: each one sends a snapshot every second and each membership change as it arrives,
 * and releases its timer and listener when the client leaves. Open streams are ended before
 * HTTP closes, or the server would wait for them.
 */
@Injectable()
export class LiveStreams implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly closers = new Set<() => void>();

  constructor(@Inject(LiveFeed) private readonly feed: LiveFeed) {}

  onApplicationBootstrap(): void {
    this.feed.start();
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.closers]) close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
  }

  /** How many streams are open (tests: none is left behind by a client that left). */
  get openCount(): number {
    return this.closers.size;
  }

  open(reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, STREAM_HEADERS);
    const send = (event: string, data: unknown): void => {
      if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 3000\n\n');
    let sending = false;
    const sendSnapshot = async (): Promise<void> => {
      if (sending) return; // a slow dead-letter read: skip a tick rather than queue them
      sending = true;
      try {
        send('snapshot', await this.feed.snapshot());
      } finally {
        sending = false;
      }
    };
    void sendSnapshot();
    const timer = setInterval(() => void sendSnapshot(), SNAPSHOT_INTERVAL_MS);
    const unsubscribe = this.feed.onMembershipChange((m) => send('membership', m));
    const close = (): void => {
      if (!this.closers.delete(close)) return;
      clearInterval(timer);
      unsubscribe();
      if (!res.writableEnded) res.end();
    };
    this.closers.add(close);
    // The response's close: the client left (the request's own close fires once its body is read).
    res.on('close', close);
  }
}
