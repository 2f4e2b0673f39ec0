// The contact list's walk as the HTTP endpoints answer it (`GET /v1/profiles` and a segment's
// members): a budget too small for one read is a 503, an operator's setting rather than a fault
// of the request or the code.
import type { ProfileListQuery } from '@mosaic/segmentation-domain';
import { ListBudgetTooSmallError, type ListProfiles, type ProfilePage } from '@mosaic/segmentation-application';
import { ApiError } from '@mosaic/shared-service';

export function listPage(list: ListProfiles, query: ProfileListQuery): Promise<ProfilePage> {
  return list.execute(query).catch((err: unknown) => {
    throw err instanceof ListBudgetTooSmallError ? new ApiError(503, 'list_budget_too_small', err.message) : err;
  });
}
