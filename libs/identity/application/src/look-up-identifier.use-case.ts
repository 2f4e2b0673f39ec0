import { identifierKey, type Identifier, type IdentifierRecord, type IdentityGraphReader } from '@mosaic/identity-domain';
import type { ChainResolution, FindLiveProfile } from './find-live-profile.use-case';

/** An identifier's document and the live profile its pointer leads to; null when the identifier is not known. */
export class LookUpIdentifier {
  constructor(
    private readonly repository: Pick<IdentityGraphReader, 'getIdentifiers'>,
    private readonly findLiveProfile: FindLiveProfile,
  ) {}

  async execute(identifier: Identifier): Promise<{ record: IdentifierRecord; chain: ChainResolution } | null> {
    const [record] = await this.repository.getIdentifiers([identifierKey(identifier)]);
    if (!record) return null;
    return { record, chain: await this.findLiveProfile.execute(record.profileId) };
  }
}
