import { Paper, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import { seg, svc } from '../../api/client';
import { EChart } from '../../charts/EChart';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

interface SizePoint {
  at: string;
  size: number;
}

/** The ranges offered, and the step asked for each (seconds; about 300 points at most). */
const RANGES: Record<string, { days: number; step?: number; words: string }> = {
  '1': { days: 1, words: 'the last day' },
  '7': { days: 7, step: 1800, words: 'the last 7 days' },
  '30': { days: 30, step: 7200, words: 'the last 30 days' },
};

function describe(key: string, words: string, points: SizePoint[]): string {
  if (points.length === 0) return `Size of segment ${key} over ${words}, line chart: no sizes sampled yet`;
  const sizes = points.map((p) => p.size);
  const first = points[0]!;
  const last = points[points.length - 1]!;
  return (
    `Size of segment ${key} over ${words}, line chart: ${first.size} profiles at ${formatTime(first.at)}, ` +
    `${last.size} at ${formatTime(last.at)}; lowest ${Math.min(...sizes)}, highest ${Math.max(...sizes)}`
  );
}

function SizeTable({ points }: { points: SizePoint[] }) {
  return (
    <details>
      <summary>Size over time as a table</summary>
      <Table withTableBorder fz="sm" aria-label="Size over time">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Profiles</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {[...points].reverse().map((p) => (
            <Table.Tr key={p.at}>
              <Table.Td>{formatTime(p.at)}</Table.Td>
              <Table.Td>{p.size}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </details>
  );
}

/** `GET /v1/segments/{key}/sizes`: the sizes segmentation sampled (every 5 minutes by default), as a line and a table. */
export function SizeChartPanel({ segmentKey }: { segmentKey: string }) {
  const [range, setRange] = useState('7');
  const { days, step, words } = RANGES[range]!;
  const res = useAsync(
    (signal) => {
      const to = new Date();
      const from = new Date(to.getTime() - days * 86_400_000);
      const query = `from=${from.toISOString()}&to=${to.toISOString()}${step ? `&step=${step}` : ''}`;
      return svc<{ points: SizePoint[] }>('segmentation', `/v1/segments/${seg(segmentKey)}/sizes?${query}`, { signal }).then((r) => ({
        ...r,
        from: from.getTime(),
        to: to.getTime(),
      }));
    },
    [segmentKey, days, step],
  );
  const points = useMemo(() => res.data?.points ?? [], [res.data]);
  const option = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 16, bottom: 32 },
      tooltip: { trigger: 'axis' },
      // The whole range asked, however few points it holds.
      xAxis: { type: 'time', min: res.data?.from, max: res.data?.to, splitNumber: 4, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'line', step: 'end', showSymbol: points.length < 50, data: points.map((p) => [p.at, p.size]), itemStyle: { color: '#1c7ed6' } }],
    }),
    [points, res.data],
  );
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="size-history-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="size-history-heading">
          Size over time
        </Title>
        <SegmentedControl
          size="xs"
          value={range}
          onChange={setRange}
          aria-label="Range of the size chart"
          data={[
            { value: '1', label: '1 day' },
            { value: '7', label: '7 days' },
            { value: '30', label: '30 days' },
          ]}
        />
        {res.loading && !res.data && <LoadingLine />}
        <ErrorAlert error={res.error} title="Size over time" />
        <EChart option={option} label={describe(segmentKey, words, points)} height={200} testId="segment-size-chart" />
        {res.data && points.length === 0 && (
          <Text size="sm" c="dimmed">
            No sizes sampled in this range yet: segmentation records one point per interval (5 minutes by default).
          </Text>
        )}
        <SizeTable points={points} />
      </Stack>
    </Paper>
  );
}
