import type { AuditRecord } from '@mosaic/identity-domain';
import type { AuditQuery, MongoIdentityRepository } from '@mosaic/identity-data-access';

/** A page of a profile's audit, newest first; null when the profile is unknown and no audit record names it. */
export class ListProfileAudit {
  constructor(private readonly repository: Pick<MongoIdentityRepository, 'findAudit' | 'getProfiles'>) {}

  async execute(profileId: string, query: AuditQuery): Promise<AuditRecord[] | null> {
    const records = await this.repository.findAudit(profileId, query);
    // Only the first page can tell: a later one may be empty for a profile that exists.
    if (records.length === 0 && query.before === undefined && (await this.repository.getProfiles([profileId])).length === 0) return null;
    return records;
  }
}
