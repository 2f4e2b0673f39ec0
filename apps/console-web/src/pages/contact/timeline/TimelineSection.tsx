import { Paper, Stack, Text, Title } from '@mantine/core';
import { useMemo } from 'react';
import { ErrorAlert, LoadingLine, useAsync } from '../../../components/common';
import { whenIdle } from '../../../app/when-idle';
import { DETAIL_EVENTS, loadActivity, loadDetails, toRows } from './model';
import { TimelineChart } from './TimelineChart';
import { TimelineTable } from './TimelineTable';

/**
 * The contact's timeline from enrichment's activity digest (its latest events, up to 10,000, in
 * one request): a chart by kind and an accessible table. What only the full events give (video
 * sessions) is loaded after that and fills the table's Details column.
 */
export function TimelineSection({ profileId }: { profileId: string }) {
  const res = useAsync((signal) => loadActivity(profileId, signal), [profileId]);
  const rows = useMemo(() => (res.data ? toRows(res.data) : []), [res.data]);
  // only when the latest rows hold video events, and once the chart and the table are drawn
  const wantDetails = rows.slice(0, DETAIL_EVENTS).some((r) => r.kind === 'video');
  const details = useAsync(
    async (signal) => {
      if (!wantDetails) return undefined;
      await whenIdle(signal);
      return loadDetails(profileId, signal);
    },
    [profileId, wantDetails],
  );
  const capped = res.data !== undefined && res.data.entries.length >= res.data.max;

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="timeline-heading">
      <Stack>
        <Title order={2} size="h3" id="timeline-heading">
          Timeline
        </Title>
        {res.loading && <LoadingLine label="Loading events" />}
        <ErrorAlert error={res.error} title="Timeline" />
        {res.data && (
          <>
            <Text size="sm">
              {rows.length} events{capped ? ` (the latest ${res.data.max}; older ones are not shown)` : ''}. Anonymous events (before the visitor identified
              themselves) are drawn as grey squares. Drag the slider or scroll on the chart to zoom.
            </Text>
            <TimelineChart rows={rows} />
            <TimelineTable key={profileId} rows={rows} details={details.data} detailsLoading={details.loading} />
          </>
        )}
      </Stack>
    </Paper>
  );
}
