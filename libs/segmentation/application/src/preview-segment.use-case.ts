import type { SegmentDefinition } from '@mosaic/segmentation-domain';
import type { SegmentProfilesRepository } from '@mosaic/segmentation-data-access';
import type { SegmentEvaluator } from './segment-evaluator';

export interface SegmentPreview {
  scanned: number;
  matched: number;
  total: number;
  complete: boolean;
  estimated: number;
  sample: string[];
}

/** Counts and samples the profiles an unsaved definition matches, and estimates the segment's size. */
export class PreviewSegment {
  constructor(
    private readonly evaluator: SegmentEvaluator,
    private readonly profiles: SegmentProfilesRepository,
  ) {}

  async execute(definition: SegmentDefinition, opts: { maxProfiles: number; sample: number; maxMillis: number }): Promise<SegmentPreview> {
    const [r, counted] = await Promise.all([this.evaluator.preview(definition, opts), this.profiles.count()]);
    const total = r.complete ? r.scanned : Math.max(counted, r.scanned); // the count is approximate; a whole scan is not
    return { ...r, total, estimated: r.complete || r.scanned === 0 ? r.matched : Math.round((r.matched * total) / r.scanned) };
  }
}
