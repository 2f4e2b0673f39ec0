import { checkReferences } from '@mosaic/segmentation-domain';
import type { SegmentDefinitionsRepository } from '@mosaic/segmentation-data-access';
import type { ReevaluateSegment } from './reevaluate-segment.use-case';

export type DeleteOutcome = { ok: true } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'referred'; by: string[] };

/** Deletes a segment no other segment refers to; its members exit through a backfill. */
export class DeleteSegment {
  constructor(
    private readonly definitions: SegmentDefinitionsRepository,
    private readonly reevaluate: ReevaluateSegment,
  ) {}

  async execute(key: string): Promise<DeleteOutcome> {
    const all = await this.definitions.list();
    const last = all.find((s) => s.key === key);
    if (!last) return { ok: false, reason: 'not_found' };
    const refs = checkReferences(all.filter((s) => s.key !== key).map((s) => s.definition));
    if (!refs.ok) return { ok: false, reason: 'referred', by: refs.errors.map((e) => `${e.key} ${e.path}`) };
    await this.definitions.delete(key);
    await this.reevaluate.execute(key, last.version);
    return { ok: true };
  }
}
