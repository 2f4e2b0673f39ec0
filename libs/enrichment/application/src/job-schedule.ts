import type { Logger } from '@mosaic/shared-logging';

/** When a periodic job runs (`intervalMs` 0 = never on its own) and where its outcome is logged. */
export interface JobSchedule {
  intervalMs: number;
  logger: Logger;
}
