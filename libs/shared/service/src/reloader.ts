/**
 * One reload at a time of something held in memory (configuration, segment plans), where each
 * caller gets a reload that *began after its call*. Joining a reload already in flight is not
 * enough: it may have read the store before the change the caller just made, so an API that
 * "reloads, then answers" would answer while the old state is still held. A call made while a
 * reload is in flight waits for one more, shared by every such caller.
 */
export class Reloader {
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly load: () => Promise<void>) {}

  reload(): Promise<void> {
    if (!this.current) return this.start();
    this.queued ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        // A reload started since the last one ended began after these callers' calls: join it.
        return this.current ?? this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const running: Promise<void> = this.load().finally(() => {
      if (this.current === running) this.current = undefined;
    });
    this.current = running;
    return running;
  }
}
