import { Anchor, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';
import { ApiError, seg, svc } from '../../api/client';
import type { ProfileSegmentsResponse, Segment } from '../../api/types';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { describeCondition } from '../segments/describe';
import { SegmentReason } from './SegmentReason';

async function load(profileId: string, signal: AbortSignal) {
  const [memberships, all] = await Promise.all([
    svc<ProfileSegmentsResponse>('segmentation', `/v1/profiles/${seg(profileId)}/segments`, { signal }).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }),
    svc<{ segments: Segment[] }>('segmentation', '/v1/segments', { signal }).catch(() => ({ segments: [] as Segment[] })),
  ]);
  return { memberships, byKey: new Map(all.segments.map((s) => [s.key, s])) };
}

/** Current segments (segmentation's stored memberships) with when and why each was entered (the trigger, the conditions that held) and the segment's rule. */
export function SegmentsSection({ profileId }: { profileId: string }) {
  const res = useAsync((signal) => load(profileId, signal), [profileId]);
  const rows = res.data?.memberships?.segments ?? [];

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="segments-heading">
      <Stack>
        <Title order={2} size="h3" id="segments-heading">
          Segments
        </Title>
        {res.loading && !res.data && <LoadingLine />}
        <ErrorAlert error={res.error} title="Segments" />
        <div data-testid="contact-segments">
          {res.data && rows.length === 0 && (
            <Text size="sm" c="dimmed">
              In no segment{res.data.memberships === null ? ' (segmentation has not seen this contact yet)' : ''}.
            </Text>
          )}
          {rows.length > 0 && (
            <Table withTableBorder aria-label="Current segments">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Segment</Table.Th>
                  <Table.Th>Entered</Table.Th>
                  <Table.Th>Why it entered</Table.Th>
                  <Table.Th>The segment's rule (version)</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((m) => {
                  const s = res.data?.byKey.get(m.segmentKey);
                  return (
                    <Table.Tr key={m.segmentKey} data-testid="contact-segment" data-segment-key={m.segmentKey}>
                      <Table.Td>
                        <Anchor component={Link} to={`/segments/${encodeURIComponent(m.segmentKey)}`}>
                          {s?.definition.name ?? m.segmentKey}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>{formatTime(m.since)}</Table.Td>
                      <Table.Td>
                        <SegmentReason reason={m.reason} />
                      </Table.Td>
                      <Table.Td>
                        {s ? describeCondition(s.definition.condition) : 'segment definition not found'} (v{m.segmentVersion})
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          )}
        </div>
        {res.data?.memberships?.nextTimerAt && (
          <Text size="sm" c="dimmed">
            Next time-based change possible at {formatTime(res.data.memberships.nextTimerAt)}.
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
