import { checkReferences, validateDefinition, type SegmentDefinition } from '@mosaic/segmentation-domain';
import type { SegmentDefinitionsRepository } from '@mosaic/segmentation-data-access';

export type DefinitionCheck = { ok: true; definition: SegmentDefinition } | { ok: false; errors: { path: string; message: string }[] };

/** Validates a definition and the references of the whole stored set with it (cycles, unknown segments). */
export class ValidateSegmentDefinition {
  constructor(private readonly definitions: SegmentDefinitionsRepository) {}

  /** `key`: the segment in the URL of an update (the definition may not change it). */
  async execute(body: unknown, key?: string): Promise<DefinitionCheck> {
    const result = validateDefinition(body);
    if (!result.ok) return { ok: false, errors: result.errors };
    const definition = result.definition;
    if (key !== undefined && definition.key !== key)
      return { ok: false, errors: [{ path: 'key', message: `must be ${key} (the segment in the URL); create a new segment to change a key` }] };
    const others = (await this.definitions.list()).filter((s) => s.key !== definition.key).map((s) => s.definition);
    const refs = checkReferences([...others, definition]);
    if (!refs.ok)
      return { ok: false, errors: refs.errors.map((e) => ({ path: e.key === definition.key ? e.path : `(segment ${e.key}) ${e.path}`, message: e.message })) };
    return { ok: true, definition };
  }
}
