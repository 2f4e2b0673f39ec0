import { Paper, Stack, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import { ErrorAlert, LoadingLine, useAsync } from '../../../components/common';
import { MAX_EVENTS, loadTimeline, toRows } from './model';
import { TimelineChart } from './TimelineChart';
import { TimelineTable } from './TimelineTable';

/** The contact's timeline (enrichment, newest first, up to 10,000 events): a chart by kind and an accessible table. */
export function TimelineSection({ profileId }: { profileId: string }) {
  const [progress, setProgress] = useState(0);
  const res = useAsync((signal) => loadTimeline(profileId, signal, setProgress), [profileId]);
  const rows = useMemo(() => toRows(res.data?.events ?? []), [res.data]);

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="timeline-heading">
      <Stack>
        <Title order={2} size="h3" id="timeline-heading">
          Timeline
        </Title>
        {res.loading && <LoadingLine label={`Loading events (${progress} so far)`} />}
        <ErrorAlert error={res.error} title="Timeline" />
        {res.data && (
          <>
            <Text size="sm">
              {rows.length} events{res.data.more ? ` (the latest ${MAX_EVENTS}; older ones are not shown)` : ''}. Anonymous events (before the visitor
              identified themselves) are drawn as hollow grey diamonds. Drag the slider or scroll on the chart to zoom.
            </Text>
            <TimelineChart rows={rows} />
            <TimelineTable key={profileId} rows={rows} />
          </>
        )}
      </Stack>
    </Paper>
  );
}
