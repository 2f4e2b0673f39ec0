import { Button, Group, Paper, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { seg, svc } from '../../api/client';
import type { Segment, SegmentVersion } from '../../api/types';
import { ErrorAlert, formatDuration, formatTime, useAsync } from '../../components/common';
import { describeCondition } from './describe';

/** The latest backfill of a saved segment: fraction done and time left. */
export function BackfillPanel({ segment }: { segment: Segment }) {
  const b = segment.backfill;
  if (!b) return null;
  const pct = Math.round(b.fraction * 100);
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="backfill-heading" data-testid="segment-backfill">
      <Stack gap="xs">
        <Title order={2} size="h4" id="backfill-heading">
          Backfill (version {b.version}): {b.status}
        </Title>
        <Progress value={pct} aria-label={`Backfill ${pct} % done`} />
        <Text size="sm">
          {b.processed} of {b.total} profiles ({pct} %)
          {b.status === 'running' ? ` · ${b.ratePerSecond.toFixed(0)} per second · about ${formatDuration(b.etaSeconds)} left` : ''}
          {b.finishedAt ? ` · finished ${formatTime(b.finishedAt)}` : ` · started ${formatTime(b.startedAt)}`}
        </Text>
        {b.error && <ErrorAlert error={new Error(b.error)} title="Backfill failed" />}
      </Stack>
    </Paper>
  );
}

/** `GET /v1/segments/{key}/versions`: newest first. */
export function VersionsPanel({ segmentKey, version }: { segmentKey: string; version: number }) {
  const res = useAsync(
    (signal) => svc<{ versions: SegmentVersion[] }>('segmentation', `/v1/segments/${seg(segmentKey)}/versions`, { signal }),
    [segmentKey, version],
  );
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="versions-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="versions-heading">
          Versions
        </Title>
        <ErrorAlert error={res.error} />
        <Table withTableBorder fz="sm" aria-label="Versions" data-testid="segment-versions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>When</Table.Th>
              <Table.Th>By</Table.Th>
              <Table.Th>Rule</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(res.data?.versions ?? []).map((v) => (
              <Table.Tr key={v.version}>
                <Table.Td>{v.version}</Table.Td>
                <Table.Td>{formatTime(v.at)}</Table.Td>
                <Table.Td>{v.by}</Table.Td>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{describeCondition(v.definition?.condition)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Stack>
    </Paper>
  );
}

/** Editors: disable or enable a saved segment (each a new version), or run its backfill again. */
export function SegmentActions({ segment, onChanged }: { segment: Segment; onChanged(newVersion?: number): void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const act = async (name: string, path: string) => {
    setBusy(name);
    setError(undefined);
    try {
      const r = await svc<{ version?: number }>('segmentation', `/v1/segments/${seg(segment.key)}${path}`, { method: 'POST' });
      onChanged(path === '/backfill' ? undefined : r.version);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const disabled = segment.status !== 'active';
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <Button variant="default" size="xs" loading={busy === 'status'} onClick={() => void act('status', disabled ? '/enable' : '/disable')}>
          {disabled ? 'Enable segment' : 'Disable segment'}
        </Button>
        <Button variant="default" size="xs" loading={busy === 'backfill'} onClick={() => void act('backfill', '/backfill')}>
          Run the backfill again
        </Button>
      </Group>
      <ErrorAlert error={error} title="Not done" />
    </Stack>
  );
}
