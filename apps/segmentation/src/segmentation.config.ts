import { z } from '@mosaic/shared-config';

/** The segmentation service's own environment variables (the common ones are in @mosaic/shared-config). */
export const segmentationEnvSchema = z.object({
  /** Compare-and-set: `auto` (ticket on FerretDB, native on MongoDB), `native`, `ticket`. */
  SEGMENTATION_STORE_CAS: z.enum(['auto', 'native', 'ticket']).default('auto'),
});

export type SegmentationEnv = z.infer<typeof segmentationEnvSchema>;
