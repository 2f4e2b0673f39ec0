import { Anchor, Badge, Button, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Link } from 'react-router-dom';
import { svc } from '../api/client';
import type { ContactListPage, ContactRow, Segment } from '../api/types';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../components/common';

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

const KNOWN = [
  { value: '', label: 'Known and anonymous' },
  { value: 'true', label: 'Known (identified)' },
  { value: 'false', label: 'Anonymous only' },
];

const SEEN = [
  { value: '', label: 'Any time' },
  { value: '1', label: 'Within 1 day' },
  { value: '7', label: 'Within 7 days' },
  { value: '30', label: 'Within 30 days' },
  { value: 'date', label: 'Since a date…' },
];

interface Filters {
  segment: string;
  known: string;
  /** ISO time the "last seen" filter starts at, fixed when the filter is chosen (every page uses the same). */
  seenAfter: string;
}

/** `seen` (days or "date") and a date input's value → the ISO start of the range, '' for none. */
function seenAfterOf(seen: string, date: string, now: number): string {
  if (seen === '') return '';
  if (seen === 'date') {
    const t = date === '' ? NaN : new Date(`${date}T00:00:00`).getTime();
    return Number.isNaN(t) ? '' : new Date(t).toISOString();
  }
  return new Date(now - Number(seen) * DAY_MS).toISOString();
}

function queryOf(f: Filters, cursor: string | undefined): string {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (f.segment) q.set('segment', f.segment);
  if (f.known) q.set('known', f.known);
  if (f.seenAfter) q.set('seenAfter', f.seenAfter);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

function displayName(c: ContactRow): string {
  return c.email ?? c.userId ?? c.profileId;
}

function ContactsTable({ rows }: { rows: ContactRow[] }) {
  return (
    <Table withTableBorder striped aria-label="Contacts" data-testid="contacts-list">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Contact</Table.Th>
          <Table.Th scope="col">Known</Table.Th>
          <Table.Th scope="col">Last seen</Table.Th>
          <Table.Th scope="col">Segments</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((c) => (
          <Table.Tr key={c.profileId} data-testid="contact-row" data-profile-id={c.profileId}>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>
              <Anchor component={Link} to={`/contacts/${encodeURIComponent(c.profileId)}`}>
                {displayName(c)}
              </Anchor>
              {displayName(c) !== c.profileId && (
                <Text size="xs" c="dimmed">
                  {c.profileId}
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <Badge variant="light" color={c.known ? 'blue' : 'gray'}>
                {c.known ? 'known' : 'anonymous'}
              </Badge>
            </Table.Td>
            <Table.Td>{formatTime(c.lastSeenAt)}</Table.Td>
            <Table.Td fz="sm">{c.segments.length === 0 ? '—' : c.segments.join(', ')}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** What the page says besides its rows: found nothing, or the search stopped early (a sparse filter). */
function PageStatus({ page, pageNumber }: { page: ContactListPage; pageNumber: number }) {
  const searched = `${Math.round(page.progress * 100)} %`;
  let text = `Page ${pageNumber}: ${page.profiles.length} contact${page.profiles.length === 1 ? '' : 's'}.`;
  if (page.partial) text += ` Searched ${searched} of all contacts so far; “Next page” searches on.`;
  else if (page.next === null && page.profiles.length === 0) text = pageNumber === 1 ? 'No contact matches these filters.' : 'No more contacts.';
  else if (page.next === null) text += ' End of the list.';
  return (
    <Text size="sm" role="status" data-testid="contacts-status">
      {text}
    </Text>
  );
}

/** The contact list (segmentation `GET /v1/profiles`): filters, a page of rows, the next page by cursor. */
export function ContactList() {
  const segments = useAsync((signal) => svc<{ segments: Segment[] }>('segmentation', '/v1/segments', { signal }), []);
  // The filters live in the URL (`?segment=&known=&seen=&since=`): back from a contact, the list is as it was left.
  const [params, setParams] = useSearchParams();
  const seen = params.get('seen') ?? '';
  const seenDate = params.get('since') ?? '';
  const seenAfter = useMemo(() => seenAfterOf(seen, seenDate, Date.now()), [seen, seenDate]);
  const filters: Filters = { segment: params.get('segment') ?? '', known: params.get('known') ?? '', seenAfter };
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const path = `/v1/profiles?${queryOf(filters, cursor)}`;
  const page = useAsync((signal) => svc<ContactListPage>('segmentation', path, { signal }), [path]);

  const change = (next: Record<string, string>) => {
    // From the address bar, not this render's parameters: several filters may change before it
    // re-renders, and React Router's updater gets the render's parameters too.
    const q = new URLSearchParams(window.location.search);
    for (const [name, value] of Object.entries(next)) {
      if (value) q.set(name, value);
      else q.delete(name);
    }
    setParams(q, { replace: true });
    setCursors([]);
  };
  const changeSeen = (value: string, date: string) => change({ seen: value, since: value === 'date' ? date : '' });
  const segmentOptions = [
    { value: '', label: 'All contacts' },
    ...(segments.data?.segments ?? []).map((s) => ({ value: s.key, label: s.definition.name ?? s.key })),
  ];

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2} size="h3">
          Contact list
        </Title>
        <ErrorAlert error={segments.error} title="Segments could not be loaded" />
        <Group align="flex-end" wrap="wrap">
          <NativeSelect
            label="Segment"
            data={segmentOptions}
            value={filters.segment}
            onChange={(e) => change({ segment: e.currentTarget.value })}
            data-testid="contacts-filter-segment"
            maw={320}
          />
          <NativeSelect
            label="Known or anonymous"
            data={KNOWN}
            value={filters.known}
            onChange={(e) => change({ known: e.currentTarget.value })}
            data-testid="contacts-filter-known"
          />
          <NativeSelect
            label="Last seen"
            data={SEEN}
            value={seen}
            onChange={(e) => changeSeen(e.currentTarget.value, seenDate)}
            data-testid="contacts-filter-seen"
          />
          {seen === 'date' && (
            <TextInput
              type="date"
              label="Seen on or after"
              value={seenDate}
              onChange={(e) => changeSeen('date', e.currentTarget.value)}
              data-testid="contacts-filter-seen-date"
            />
          )}
        </Group>
        <ErrorAlert error={page.error} title="The list could not be loaded" />
        {page.loading && <LoadingLine label="Loading contacts" />}
        {page.data && !page.loading && (
          <>
            <PageStatus page={page.data} pageNumber={cursors.length + 1} />
            {page.data.profiles.length > 0 && <ContactsTable rows={page.data.profiles} />}
          </>
        )}
        <Group>
          <Button variant="default" size="xs" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))} data-testid="contacts-previous">
            Previous page
          </Button>
          <Button
            variant="default"
            size="xs"
            disabled={!page.data?.next || page.loading}
            onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}
            data-testid="contacts-next"
          >
            Next page
          </Button>
        </Group>
      </Stack>
    </Paper>
  );
}
