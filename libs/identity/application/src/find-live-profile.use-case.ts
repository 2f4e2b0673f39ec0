import { MAX_REDIRECT_HOPS, type IdentityGraphReader, type ProfileRecord } from '@mosaic/identity-domain';

/** `live`: the chain ends at a live profile; `missing`: at a profile that no longer exists (an expired redirect) or a loop. */
export type ChainResolution =
  | { state: 'live'; profile: ProfileRecord; path: string[]; requested: ProfileRecord }
  | { state: 'missing'; missingId: string; path: string[]; requested?: ProfileRecord };

/** Follows `mergedInto` from a profile id to the live profile (fresh reads, at most `MAX_REDIRECT_HOPS`). */
export class FindLiveProfile {
  constructor(private readonly repository: Pick<IdentityGraphReader, 'getProfiles'>) {}

  async execute(profileId: string): Promise<ChainResolution> {
    const path: string[] = [];
    let requested: ProfileRecord | undefined;
    let id = profileId;
    for (let hops = 0; hops <= MAX_REDIRECT_HOPS && !path.includes(id); hops += 1) {
      path.push(id);
      const [profile] = await this.repository.getProfiles([id]);
      if (!profile) return { state: 'missing', missingId: id, path, ...(requested ? { requested } : {}) };
      requested ??= profile;
      if (profile.status !== 'merged' || profile.mergedInto === undefined) return { state: 'live', profile, path, requested };
      id = profile.mergedInto;
    }
    return { state: 'missing', missingId: id, path, ...(requested ? { requested } : {}) };
  }
}
