import { Badge, Button, Group, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { formatTime } from '../../../components/common';
import { KIND_LABELS, type Row } from './model';

const STEP = 200;

/** The timeline's events as a table: the latest 200, then 200 more per "Show more". */
export function TimelineTable({ rows }: { rows: Row[] }) {
  const [shown, setShown] = useState(STEP);
  const visible = rows.slice(0, shown);
  return (
    <>
      <Table withTableBorder striped fz="sm" data-testid="timeline-table" aria-label="Timeline events, newest first">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Time</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Anonymous</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {visible.map((r) => (
            <Table.Tr key={r.id} data-testid="timeline-row" data-anonymous={r.anonymous ? 'true' : 'false'} data-kind={r.kind}>
              <Table.Td>
                <time dateTime={r.at}>{formatTime(r.at)}</time>
              </Table.Td>
              <Table.Td>{KIND_LABELS[r.kind]}</Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{r.name}</Table.Td>
              <Table.Td>
                {r.anonymous ? (
                  <Badge variant="dot" color="gray">
                    anonymous
                  </Badge>
                ) : (
                  'no'
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group>
        <Text size="sm" role="status">
          Showing {visible.length} of {rows.length} events.
        </Text>
        {shown < rows.length && (
          <Button variant="default" size="xs" onClick={() => setShown(shown + STEP)} data-testid="timeline-show-more">
            Show more
          </Button>
        )}
      </Group>
    </>
  );
}
