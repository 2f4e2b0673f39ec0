/**
 * The identity rules as configuration (`identity_rules`, one document `_id: "current"`): the
 * document given to `PUT /v1/rules`, validated by the domain's `parseIdentityRules` before it
 * is stored, re-parsed (defaults from the code filled in) whenever it is loaded. No document:
 * the domain's defaults.
 */
import { IdentityRulesError, parseIdentityRules, type IdentityRules, type RuleError } from '@mosaic/identity-domain';
import type { MongoIdentityRepository } from './mongo-identity.repository';

export const RULES_DOCUMENT_ID = 'current';

export interface LoadedRules {
  /** See `RulesRepository.stamp`. */
  stamp: string;
  rules: IdentityRules;
  /** The stored input (partial document), or null when the defaults apply. */
  input: unknown;
  /** 0 for the defaults; incremented by every save. */
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
  source: 'default' | 'stored';
}

export type SaveRulesResult = { ok: true; loaded: LoadedRules } | { ok: false; errors: RuleError[] };

export class RulesRepository {
  constructor(private readonly store: MongoIdentityRepository) {}

  /** The current rules. Throws `IdentityRulesError` when the stored document no longer validates (e.g. after a code change). */
  async load(): Promise<LoadedRules> {
    const doc = await this.store.rules.findOne({ _id: RULES_DOCUMENT_ID });
    if (!doc) return { stamp: '0', rules: parseOrThrow(undefined), input: null, version: 0, updatedAt: null, updatedBy: null, source: 'default' };
    const input: unknown = JSON.parse(doc.json);
    return {
      stamp: `${doc.version}@${doc.updatedAt.getTime()}`,
      rules: parseOrThrow(input),
      input,
      version: doc.version,
      updatedAt: doc.updatedAt.toISOString(),
      updatedBy: doc.updatedBy,
      source: 'stored',
    };
  }

  /**
   * What identifies the stored document's state, for a cheap poll of other instances' changes
   * (`0` when none is stored). Version and time together: FerretDB 1.24 can lose one of two
   * concurrent `$inc`s, so two saves may share a version number.
   */
  async stamp(): Promise<string> {
    const doc = await this.store.rules.findOne({ _id: RULES_DOCUMENT_ID }, { projection: { version: 1, updatedAt: 1 } });
    return doc ? `${doc.version}@${doc.updatedAt.getTime()}` : '0';
  }

  /** Validates and stores `input` (replacing the previous document); errors name their path. */
  async save(input: unknown, updatedBy: string, now: Date = new Date()): Promise<SaveRulesResult> {
    const parsed = parseIdentityRules(input);
    if (!parsed.ok) return { ok: false, errors: parsed.errors };
    const json = JSON.stringify(input ?? {});
    const doc = await this.store.rules.findOneAndUpdate(
      { _id: RULES_DOCUMENT_ID },
      { $set: { json, updatedAt: now, updatedBy }, $inc: { version: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    const version = doc?.version ?? 1;
    return {
      ok: true,
      loaded: {
        stamp: `${version}@${now.getTime()}`,
        rules: parsed.rules,
        input: input ?? {},
        version,
        updatedAt: now.toISOString(),
        updatedBy,
        source: 'stored',
      },
    };
  }
}

function parseOrThrow(input: unknown): IdentityRules {
  const parsed = parseIdentityRules(input);
  if (!parsed.ok) throw new IdentityRulesError(parsed.errors);
  return parsed.rules;
}
