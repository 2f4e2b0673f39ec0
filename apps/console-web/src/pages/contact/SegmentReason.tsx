import { List, Stack, Text } from '@mantine/core';
import type { EntryReason } from '../../api/types';
import { formatTime } from '../../components/common';

/** What made segmentation evaluate the contact when it entered, in words (times in the browser's locale). */
export function triggerText(t: EntryReason['trigger']): string {
  const id = t.messageId ? ` (id ${t.messageId})` : '';
  const changed = t.changed && t.changed.length > 0 ? `; changed ${t.changed.join(', ')}` : '';
  const detail = t.detail ? ` (${t.detail})` : '';
  switch (t.kind) {
    case 'event':
      return `Event “${t.event ?? '?'}”${t.at ? ` at ${formatTime(t.at)}` : ''}${id}${changed}`;
    case 'profile':
      return `A profile change${detail}${id}${changed}`;
    case 'timer':
      return 'Time passed with no new event (a time window moved)';
    case 'backfill':
      return `A backfill of a new or changed definition${detail}`;
    case 'merge':
      return `A merge of profiles${detail}${id}`;
    case 'clustering':
      return `A clustering run${detail}`;
    default:
      return `${t.kind}${detail}${id}`;
  }
}

/** Why the contact is in a segment: the trigger and the conditions that held when it entered. */
export function SegmentReason({ reason }: { reason: EntryReason | null | undefined }) {
  if (!reason) {
    return (
      <Text size="sm" c="dimmed" data-testid="contact-segment-reason">
        Entered before reasons were recorded.
      </Text>
    );
  }
  return (
    <Stack gap={4} data-testid="contact-segment-reason">
      <Text size="sm">
        <Text span fw={600} size="sm">
          Trigger:{' '}
        </Text>
        {triggerText(reason.trigger)}
      </Text>
      {reason.matched.length > 0 && (
        <>
          <Text size="sm" fw={600}>
            Conditions that held:
          </Text>
          <List size="sm" spacing={2}>
            {reason.matched.map((m, i) => (
              <List.Item key={i} style={{ overflowWrap: 'anywhere' }}>
                {m}
              </List.Item>
            ))}
            {reason.moreMatched ? <List.Item>and {reason.moreMatched} more</List.Item> : null}
          </List>
        </>
      )}
    </Stack>
  );
}
