import type { LoadedRules, RulesRepository, SaveRulesResult } from '@mosaic/identity-data-access';
import type { Logger } from '@mosaic/shared-logging';

/**
 * The rules this instance resolves with: loaded at start-up (a stored document that no longer
 * validates stops the start with its errors), replaced at once by this instance's `PUT
 * /v1/rules`, and refreshed from MongoDB every `refreshMs` when another instance changed them
 * (a later invalid document is logged and ignored: the last good rules stay in use).
 */
export class RulesCache {
  private loaded!: LoadedRules;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly repo: RulesRepository,
    private readonly logger: Logger,
    private readonly onChange: (loaded: LoadedRules) => void = () => undefined,
  ) {}

  async init(): Promise<LoadedRules> {
    this.set(await this.repo.load());
    return this.loaded;
  }

  current(): LoadedRules {
    return this.loaded;
  }

  async save(input: unknown, by: string): Promise<SaveRulesResult> {
    const result = await this.repo.save(input, by);
    if (result.ok) {
      this.set(result.loaded);
      this.logger.info({ rulesVersion: result.loaded.version, by }, 'identity rules changed');
    }
    return result;
  }

  startPolling(refreshMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.polling ??= this.refresh().finally(() => (this.polling = undefined));
    }, refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Reloads when the stored document changed. */
  async refresh(): Promise<void> {
    try {
      const stamp = await this.repo.stamp();
      if (stamp === this.loaded.stamp) return;
      const loaded = await this.repo.load();
      this.set(loaded);
      this.logger.info({ rulesVersion: loaded.version }, 'identity rules reloaded (changed by another instance)');
    } catch (err) {
      this.logger.error({ err }, 'could not refresh the identity rules; keeping the rules in use');
    }
  }

  private set(loaded: LoadedRules): void {
    this.loaded = loaded;
    this.onChange(loaded);
  }
}
