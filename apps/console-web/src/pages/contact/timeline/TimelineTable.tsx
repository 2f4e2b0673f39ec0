import { Button, Group, Table, Text } from '@mantine/core';
import { memo, useState } from 'react';
import { formatTime } from '../../../components/common';
import { KIND_LABELS, type Row } from './model';

const STEP = 200;

const ANONYMOUS_STYLE = { fontSize: 'var(--mantine-font-size-xs)', fontWeight: 700, textTransform: 'uppercase', color: 'var(--mantine-color-gray-7)' } as const;

/**
 * One event: plain elements with the Mantine table's own classes and attributes (striped rows,
 * row borders) rather than a Tr, five Tds and a Badge per row — rendering 200 rows is part of
 * the contact page's first paint.
 */
const TimelineRow = memo(function TimelineRow({ row, detail }: { row: Row; detail: string }) {
  const iso = new Date(row.t).toISOString();
  const td = Table.classes.td;
  return (
    <tr
      className={Table.classes.tr}
      data-with-row-border
      data-striped="odd"
      data-testid="timeline-row"
      data-anonymous={row.anonymous ? 'true' : 'false'}
      data-kind={row.kind}
    >
      <td className={td}>
        <time dateTime={iso}>{formatTime(iso)}</time>
      </td>
      <td className={td}>{KIND_LABELS[row.kind]}</td>
      <td className={td} style={{ overflowWrap: 'anywhere' }}>
        {row.name}
      </td>
      <td className={td}>{row.anonymous ? <span style={ANONYMOUS_STYLE}>● anonymous</span> : 'no'}</td>
      <td className={td} data-testid="timeline-detail">
        {detail}
      </td>
    </tr>
  );
});

/**
 * The timeline's events as a table: the latest 200, then 200 more per "Show more". Details (video
 * sessions: share watched, seeks) arrive after the rows, from the full events.
 */
export function TimelineTable({ rows, details, detailsLoading }: { rows: Row[]; details: Map<string, string> | undefined; detailsLoading: boolean }) {
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
            <Table.Th>Details</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {visible.map((r) => (
            <TimelineRow key={r.id} row={r} detail={details?.get(r.id) ?? ''} />
          ))}
        </Table.Tbody>
      </Table>
      <Group>
        <Text size="sm" role="status">
          Showing {visible.length} of {rows.length} events.{detailsLoading ? ' Loading details…' : ''}
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
