/** A pending delivery as ingest stores one, due at `at`, for this library's integration tests (not exported from its index). */
import type { DeliveryDocument } from '../documents';

export function pendingDelivery(id: string, at: Date = new Date()): DeliveryDocument {
  return {
    _id: id,
    partition: 0,
    offset: '0',
    destinationId: 'dst_1',
    triggerId: 'trg_1',
    profileId: `p-${id}`,
    segmentKey: 'vip',
    change: 'entered',
    membership: '{}',
    status: 'pending',
    attempts: 0,
    dueAt: at,
    nextAttemptAt: at,
    log: [],
    createdAt: at,
    updatedAt: at,
  };
}
