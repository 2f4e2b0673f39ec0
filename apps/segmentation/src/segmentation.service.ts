import { SegmentDefinitionsRepository } from '@mosaic/segmentation-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { detectServerProfile } from '@mosaic/shared-mongo';
import type { Platform } from '@mosaic/shared-service';
import type { SegmentationEnv } from './segmentation.config';

/**
 * The segmentation service, assembled (issue 6, in progress): the segment definitions store and
 * its admin API. Evaluation (profiles.changes → segments.membership), timers, backfill and
 * clustering are not built yet.
 */
export class SegmentationService {
  private constructor(readonly definitions: SegmentDefinitionsRepository) {}

  static async start(platform: Platform, config: CommonConfig & { own: SegmentationEnv }): Promise<SegmentationService> {
    const server = await detectServerProfile(platform.mongo);
    const cas = config.own.SEGMENTATION_STORE_CAS === 'auto' ? server.cas : config.own.SEGMENTATION_STORE_CAS;
    const definitions = new SegmentDefinitionsRepository(platform.mongo, { cas, instanceId: config.instanceId });
    await definitions.ensureIndexes();
    platform.runtime.logger.info({ server: server.version, cas }, 'segment definitions store ready');
    return new SegmentationService(definitions);
  }
}
