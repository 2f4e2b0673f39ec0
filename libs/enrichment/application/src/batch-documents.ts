/** The documents and messages a batch writes: active profile documents, event documents, change messages. */
import type { CompactProfile, Identifier, ProfileChange, ResolvedEvent } from '@mosaic/contracts';
import { type ProfileState, eventTime, toCompactProfile } from '@mosaic/enrichment-domain';
import { type EventDocument, type ProfileDocument, identifierKey, stateToDocument } from '@mosaic/enrichment-data-access';
import type { ApplierCore, ChangeOut, InboundResolved } from './batch-context';

/** A live profile's document with its activity digest (text); anonymous ones expire `anonymousTtlMs` after they were last seen. */
export function activeDocument(core: ApplierCore, state: ProfileState, activity: string | undefined): ProfileDocument {
  const known = state.identifiers.some((i) => i.type !== 'anonymousId');
  const last = Date.parse(state.computed.lastSeen ?? state.updatedAt);
  const expiresAt = known ? undefined : new Date((Number.isFinite(last) ? last : core.now().getTime()) + core.opts.anonymousTtlMs);
  return stateToDocument(state, {
    status: 'active',
    writeId: core.store.newWriteId(),
    ...(expiresAt ? { expiresAt } : {}),
    ...(activity !== undefined ? { activity } : {}),
  });
}

/**
 * An applied event's document. It expires one retention after the later of its event time and
 * now: an event imported (or replayed) with a time older than the retention must still outlive
 * every redelivery, because past a profile's full applied-id ring this document is the guard
 * that keeps it from being applied twice.
 */
export function eventDocument(core: ApplierCore, resolved: ResolvedEvent, item: InboundResolved): EventDocument {
  const ev = resolved.event;
  const now = core.now();
  const t = eventTime(ev, now.toISOString());
  const received = Date.parse(ev.receivedAt ?? '') || t;
  const identifiers = (resolved.identifiers ?? []).map((i) => ({ type: i.type, value: i.value }));
  return {
    _id: item.messageId,
    profileId: resolved.profileId,
    at: new Date(t),
    receivedAt: new Date(received),
    type: ev.type,
    ...(ev.type === 'track' && ev.event ? { name: ev.event } : {}),
    idKeys: identifiers.map(identifierKey),
    identifiers,
    json: JSON.stringify(ev),
    expiresAt: new Date(Math.max(t, now.getTime()) + core.opts.eventRetentionMs),
  };
}

export function changeOut(
  state: ProfileState,
  changed: string[],
  item: InboundResolved,
  duplicate: boolean,
  nowIso: string,
  kind: 'event' | 'merge' | 'split' = 'event',
  profile: CompactProfile = toCompactProfile(state),
): ChangeOut {
  const trigger: ProfileChange['trigger'] =
    item.payload.kind === 'event'
      ? {
          messageId: item.messageId,
          kind,
          eventType: item.payload.event.type,
          ...(item.payload.event.event ? { event: item.payload.event.event } : {}),
          ...(item.payload.event.properties ? { properties: item.payload.event.properties } : {}),
          ...(item.payload.event.timestamp ? { timestamp: item.payload.event.timestamp } : {}),
        }
      : { messageId: item.messageId, kind };
  const change: ProfileChange = { profileId: state.profileId, version: state.version, changed, profile, trigger, at: nowIso };
  return { key: state.profileId, messageId: `chg:${state.profileId}:${item.messageId}`, correlationId: item.correlationId, change, duplicate };
}

export function uniqueIdentifiers(list: readonly Identifier[]): Identifier[] {
  const seen = new Set<string>();
  const out: Identifier[] = [];
  for (const i of list) {
    const k = identifierKey(i);
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ type: i.type, value: i.value });
    }
  }
  return out;
}
