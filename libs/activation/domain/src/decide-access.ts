/**
 * Who may ask the decision API about whom (DESIGN §12): sources as `mosaic.sources` describes
 * them, identity verification of user ids, origins, and the profile scoping rule.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A source as the decision API needs it (the payload of `mosaic.sources`). */
export interface SourceAccess {
  id: string;
  name: string;
  writeKeyHash: string;
  serverKeyHash?: string;
  identitySecret?: string;
  allowedOrigins: string[];
  revokedAt: string | null;
  updatedAt: string;
}

/**
 * The current state of every source, reduced from `mosaic.sources` records in any order: of
 * two states of one source the later `updatedAt` wins (a republished older state changes
 * nothing), and a revoked source's keys resolve to nothing.
 */
export class SourceDirectory {
  private readonly byId = new Map<string, SourceAccess>();
  private readonly byWriteKeyHash = new Map<string, string>();
  private readonly byServerKeyHash = new Map<string, string>();
  private originsCache: ReadonlySet<string> | undefined;

  /** Applies a state; false when it is older than the one held. */
  apply(s: SourceAccess): boolean {
    const held = this.byId.get(s.id);
    if (held && Date.parse(held.updatedAt) > Date.parse(s.updatedAt)) return false;
    if (held) {
      this.byWriteKeyHash.delete(held.writeKeyHash);
      if (held.serverKeyHash) this.byServerKeyHash.delete(held.serverKeyHash);
    }
    this.byId.set(s.id, s);
    if (s.revokedAt === null) {
      this.byWriteKeyHash.set(s.writeKeyHash, s.id);
      if (s.serverKeyHash) this.byServerKeyHash.set(s.serverKeyHash, s.id);
    }
    this.originsCache = undefined;
    return true;
  }

  /** The active source of a write key's digest. */
  byWriteKey(hash: string): SourceAccess | undefined {
    const id = this.byWriteKeyHash.get(hash);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** The active source of a server key's digest. */
  byServerKey(hash: string): SourceAccess | undefined {
    const id = this.byServerKeyHash.get(hash);
    return id === undefined ? undefined : this.byId.get(id);
  }

  get(id: string): SourceAccess | undefined {
    return this.byId.get(id);
  }

  /** Origins some active source allows (a CORS preflight carries no key, so it is answered for these). */
  allowedOrigins(): ReadonlySet<string> {
    if (!this.originsCache) {
      const all = new Set<string>();
      for (const s of this.byId.values()) if (s.revokedAt === null) for (const o of s.allowedOrigins) all.add(o);
      this.originsCache = all;
    }
    return this.originsCache;
  }

  get size(): number {
    return this.byId.size;
  }
}

/** `userHash` for a user id: hex HMAC-SHA256(identitySecret, userId), computed by the site's server. */
export function userHashOf(identitySecret: string, userId: string): string {
  return createHmac('sha256', identitySecret).update(userId, 'utf8').digest('hex');
}

/** Whether `userHash` proves that the site's server vouches for `userId` (constant-time compare). */
export function verifyUserHash(identitySecret: string | undefined, userId: string, userHash: string | undefined): boolean {
  if (!identitySecret || typeof userHash !== 'string' || !/^[0-9a-f]{64}$/i.test(userHash)) return false;
  return timingSafeEqual(Buffer.from(userHashOf(identitySecret, userId), 'hex'), Buffer.from(userHash, 'hex'));
}

/**
 * Whether a browser `Origin` may call with this source's key: exact match against the
 * allowed origins (browsers send origins already normalised; `null` never matches).
 */
export function originAllowed(allowed: readonly string[], origin: string): boolean {
  return origin !== 'null' && allowed.includes(origin.toLowerCase());
}

/**
 * The scoping rule: a source sees a profile only when the profile has events from it
 * (`computed.sources`, kept by enrichment); otherwise the visitor is unknown to it.
 */
export function profileVisibleTo(computed: Record<string, unknown>, sourceId: string): boolean {
  const sources = computed['sources'];
  return Array.isArray(sources) && sources.includes(sourceId);
}
