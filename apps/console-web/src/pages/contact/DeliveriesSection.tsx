import { Badge, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { seg, svc } from '../../api/client';
import type { Delivery } from '../../api/types';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { ExperiencesViewed } from './ExperiencesViewed';

const STATUS_COLOR: Record<string, string> = { delivered: 'green', pending: 'blue', dead: 'red', skipped: 'gray' };

/** What was done for this contact: activation's delivery log filtered by profile, then the experiences shown (loaded last). */
export function DeliveriesSection({ profileId }: { profileId: string }) {
  const res = useAsync(
    (signal) => svc<{ deliveries: Delivery[] }>('activation', `/v1/deliveries?profileId=${seg(profileId)}&limit=100`, { signal }),
    [profileId],
  );
  const rows = res.data?.deliveries ?? [];
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="deliveries-heading">
      <Stack>
        <Title order={2} size="h3" id="deliveries-heading">
          What was done
        </Title>
        <Title order={3} size="h4">
          Deliveries
        </Title>
        {res.loading && !res.data && <LoadingLine />}
        <ErrorAlert error={res.error} title="Deliveries" />
        {res.data && rows.length === 0 && (
          <Text size="sm" c="dimmed">
            No deliveries (webhooks, emails, Kafka messages) for this contact.
          </Text>
        )}
        {rows.length > 0 && (
          <Table withTableBorder fz="sm" aria-label="Deliveries" data-testid="contact-deliveries">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Created</Table.Th>
                <Table.Th>Segment change</Table.Th>
                <Table.Th>Destination</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Attempts</Table.Th>
                <Table.Th>Delivered</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((d) => (
                <Table.Tr key={d.id}>
                  <Table.Td>{formatTime(d.createdAt)}</Table.Td>
                  <Table.Td>
                    {d.change} {d.segmentKey}
                  </Table.Td>
                  <Table.Td>{d.destinationId}</Table.Td>
                  <Table.Td>
                    <Badge color={STATUS_COLOR[d.status] ?? 'gray'} variant="dot">
                      {d.status}
                    </Badge>
                    {d.skipReason ? ` (${d.skipReason})` : ''}
                  </Table.Td>
                  <Table.Td>{d.attempts}</Table.Td>
                  <Table.Td>{formatTime(d.deliveredAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <ExperiencesViewed profileId={profileId} />
      </Stack>
    </Paper>
  );
}
