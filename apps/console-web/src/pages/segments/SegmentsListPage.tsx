import { Anchor, Badge, Button, Group, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';
import { svc } from '../../api/client';
import type { Segment } from '../../api/types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { describeCondition } from './describe';

function BackfillCell({ s }: { s: Segment }) {
  const b = s.backfill;
  if (!b) return <>—</>;
  if (b.status !== 'running') return <>{b.status}</>;
  return <Progress value={b.fraction * 100} aria-label={`Backfill of ${s.key}: ${Math.round(b.fraction * 100)} %`} size="sm" />;
}

export function SegmentsListPage() {
  const user = useUser();
  const res = useAsync((signal) => svc<{ segments: Segment[] }>('segmentation', '/v1/segments', { signal }), []);
  const segments = res.data?.segments ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Segments</Title>
        {canEdit(user.role) && (
          <Button component={Link} to="/segments/new" data-testid="segment-new">
            New segment
          </Button>
        )}
      </Group>
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error} />
      <Table withTableBorder striped data-testid="segments-table" aria-label="Segments">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Key</Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Size</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Backfill</Table.Th>
            <Table.Th>Rule</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {segments.map((s) => (
            <Table.Tr key={s.key} data-testid="segment-row" data-segment-key={s.key}>
              <Table.Td>
                <Anchor component={Link} to={`/segments/${encodeURIComponent(s.key)}`}>
                  {s.key}
                </Anchor>
              </Table.Td>
              <Table.Td>{s.definition.name ?? ''}</Table.Td>
              <Table.Td>
                <Badge variant="dot" color={s.status === 'active' ? 'green' : 'gray'}>
                  {s.status}
                </Badge>
                {s.notEvaluated && <Text size="xs">not evaluated: {s.notEvaluated}</Text>}
              </Table.Td>
              <Table.Td>{s.size}</Table.Td>
              <Table.Td>{s.version}</Table.Td>
              <Table.Td miw={100}>
                <BackfillCell s={s} />
              </Table.Td>
              <Table.Td fz="xs" maw={360} style={{ overflowWrap: 'anywhere' }}>
                {describeCondition(s.definition.condition)}
              </Table.Td>
              <Table.Td>{formatTime(s.updatedAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {res.data && segments.length === 0 && <Text size="sm">No segments yet.</Text>}
    </Stack>
  );
}
