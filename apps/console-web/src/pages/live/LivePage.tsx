import { Alert, Anchor, Badge, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';
import type { LiveMembership, LiveSnapshot } from '../../api/types';
import { ErrorAlert, LoadingLine, formatTime } from '../../components/common';
import { useLiveFeed, type LiveMode } from './useLiveFeed';

const MODE_TEXT: Record<LiveMode, string> = {
  connecting: 'Connecting…',
  streaming: 'Live: updated every second',
  polling: 'The live stream is unavailable: updated every 2 seconds',
};

function BigNumber({ label, value, testId }: { label: string; value: number | undefined; testId: string }) {
  return (
    <Paper withBorder p="md" component="section" aria-label={label}>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fz={40} fw={700} lh={1.2} data-testid={testId}>
        {value === undefined ? '—' : value.toLocaleString()}
      </Text>
    </Paper>
  );
}

function contactLabel(m: LiveMembership): string {
  return m.identifiers.email ?? m.identifiers.userId ?? m.profileId;
}

function Memberships({ rows }: { rows: LiveMembership[] }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="live-memberships-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="live-memberships-heading">
          Latest segment entries and exits
        </Title>
        <div data-testid="live-memberships">
          {rows.length === 0 ? (
            <Text size="sm" c="dimmed">
              None since this console started following.
            </Text>
          ) : (
            <Table withTableBorder striped aria-label="Latest segment entries and exits">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Change</Table.Th>
                  <Table.Th>Segment</Table.Th>
                  <Table.Th>Contact</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((m) => (
                  <Table.Tr
                    key={`${m.profileId}|${m.segmentKey}|${m.at}|${m.change}`}
                    data-testid="live-membership"
                    data-segment-key={m.segmentKey}
                    data-change={m.change}
                  >
                    <Table.Td>{formatTime(m.at)}</Table.Td>
                    <Table.Td>
                      <Badge variant="dot" color={m.change === 'entered' ? 'green' : 'gray'}>
                        {m.change}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Anchor component={Link} to={`/segments/${encodeURIComponent(m.segmentKey)}`}>
                        {m.segmentKey}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Anchor component={Link} to={`/contacts/${encodeURIComponent(m.profileId)}`}>
                        {contactLabel(m)}
                      </Anchor>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </div>
      </Stack>
    </Paper>
  );
}

function DeadLetters({ rows }: { rows: LiveSnapshot['deadLetters'] }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="live-dead-letters-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="live-dead-letters-heading">
          Dead letters
        </Title>
        <Text size="sm" c="dimmed">
          Messages a service could not process after its retries, as each dead-letter topic holds them now.
        </Text>
        <Table withTableBorder aria-label="Dead letters per topic" data-testid="live-dead-letters">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Topic</Table.Th>
              <Table.Th>Messages</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((d) => (
              <Table.Tr key={d.topic} data-testid="live-dead-letter" data-topic={d.topic}>
                <Table.Td>
                  <Anchor component={Link} to={`/activation/dead-letters?topic=${encodeURIComponent(d.topic)}`} aria-label={`Dead letters of ${d.topic}`}>
                    {d.topic}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  {d.count === null ? (
                    <Text span size="sm" c="dimmed">
                      unknown (Kafka unreachable)
                    </Text>
                  ) : (
                    <Text span size="sm" fw={d.count > 0 ? 700 : undefined}>
                      {d.count.toLocaleString()}
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Stack>
    </Paper>
  );
}

/** What the pipeline does now: events per second, active visitors, segment changes as they happen, dead letters. */
export function LivePage() {
  const { snapshot, memberships, mode, error } = useLiveFeed();
  const disconnected = snapshot && (!snapshot.followers.eventsRaw || !snapshot.followers.membership);
  return (
    <Stack data-testid="live-page">
      <Group justify="space-between" align="baseline">
        <Title order={1} size="h2">
          Live
        </Title>
        <Text size="sm" c="dimmed" role="status" data-testid="live-mode" data-mode={mode}>
          {MODE_TEXT[mode]}
        </Text>
      </Group>
      <ErrorAlert error={error} title="The live view could not be loaded" />
      {disconnected && (
        <Alert color="orange" title="Not following Kafka" role="alert">
          This console is not connected to Kafka right now: the numbers stay as they were until it reconnects.
        </Alert>
      )}
      {!snapshot && !error && <LoadingLine />}
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <BigNumber label="Events per second (last 10 seconds)" value={snapshot?.eventsPerSecond} testId="live-events-per-second" />
        <BigNumber label="Visitors active in the last 5 minutes" value={snapshot?.activeVisitors} testId="live-active-visitors" />
      </SimpleGrid>
      <Memberships rows={memberships} />
      <DeadLetters rows={snapshot?.deadLetters ?? []} />
      <Text size="xs" c="dimmed">
        Counted by this console instance from the records it has read since it started (their arrival time).
      </Text>
    </Stack>
  );
}
