import { Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo } from 'react';
import { seg, svc } from '../../api/client';
import type { EnrichmentProfileResponse } from '../../api/types';
import { EChart } from '../../charts/EChart';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { KeyValueTable } from '../../components/ValueView';

type Affinity = { category: string; score: number }[];

function AffinityChart({ affinity }: { affinity: Affinity }) {
  const top = affinity.slice(0, 15);
  const option = useMemo(
    () => ({
      grid: { left: 140, right: 24, top: 16, bottom: 32 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', name: 'score' },
      yAxis: { type: 'category', data: top.map((a) => a.category).reverse(), axisLabel: { width: 120, overflow: 'truncate' } },
      series: [{ type: 'bar', data: top.map((a) => Number(a.score.toFixed(3))).reverse(), itemStyle: { color: '#1c7ed6' } }],
    }),
    [top],
  );
  const label = `Category affinity, bar chart: ${top.map((a) => `${a.category} ${a.score.toFixed(2)}`).join(', ')}`;
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Category affinity
      </Title>
      <EChart option={option} label={label} height={Math.max(160, top.length * 28 + 48)} testId="affinity-chart" />
      <details>
        <summary>Category affinity as a table</summary>
        <Table withTableBorder fz="sm" aria-label="Category affinity">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Category</Table.Th>
              <Table.Th>Score</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {affinity.map((a) => (
              <Table.Tr key={a.category}>
                <Table.Td>{a.category}</Table.Td>
                <Table.Td>{a.score.toFixed(3)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </details>
    </Stack>
  );
}

/** The computed attributes without the bulky ones (affinity has its chart; daily buckets are summarised). */
function computedForDisplay(computed: Record<string, unknown>): Record<string, unknown> {
  const { categoryAffinity: _a, daily, ...rest } = computed;
  const days = daily && typeof daily === 'object' ? Object.keys(daily).length : 0;
  return { ...rest, daily: `${days} day bucket${days === 1 ? '' : 's'} (read by time-window segments)` };
}

export function ProfileSection({ profileId }: { profileId: string }) {
  const res = useAsync((signal) => svc<EnrichmentProfileResponse>('enrichment', `/v1/profiles/${seg(profileId)}`, { signal }), [profileId]);
  const p = res.data?.profile;
  const affinity = (p?.computed.categoryAffinity ?? []).filter((a) => typeof a?.score === 'number');

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="profile-heading">
      <Stack>
        <Title order={2} size="h3" id="profile-heading">
          Profile data
        </Title>
        {res.loading && !p && <LoadingLine />}
        <ErrorAlert error={res.error} title="Profile" />
        {p && (
          <>
            <Text size="sm" c="dimmed">
              Version {p.version} · created {formatTime(p.createdAt)} · updated {formatTime(p.updatedAt)}
              {p.expiresAt ? ` · expires ${formatTime(p.expiresAt)}` : ''}
            </Text>
            <SimpleGrid cols={{ base: 1, lg: 2 }}>
              <Stack gap="xs">
                <Title order={3} size="h5">
                  Traits
                </Title>
                <KeyValueTable data={p.traits} label="Traits" testId="contact-traits" rawKeys />
              </Stack>
              {affinity.length > 0 ? (
                <AffinityChart affinity={affinity} />
              ) : (
                <Text size="sm" c="dimmed">
                  No category affinity yet.
                </Text>
              )}
            </SimpleGrid>
            <Title order={3} size="h5">
              Computed attributes
            </Title>
            <KeyValueTable data={computedForDisplay(p.computed)} label="Computed attributes" testId="contact-computed" />
          </>
        )}
      </Stack>
    </Paper>
  );
}
