import { Anchor, Badge, Button, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Fragment, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { seg, svc } from '../../api/client';
import type { ActivationDelivery, ActivationDestination } from '../../api/activation-types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

const STATUS_COLOR: Record<string, string> = { delivered: 'green', pending: 'blue', dead: 'red', skipped: 'gray' };
const STATUSES = ['pending', 'delivered', 'dead', 'skipped'];

type Filters = { destinationId: string; status: string; profileId: string };

function deliveriesPath(filters: Filters): string {
  const q = new URLSearchParams({ limit: '200' });
  if (filters.destinationId) q.set('destinationId', filters.destinationId);
  if (filters.status) q.set('status', filters.status);
  if (filters.profileId) q.set('profileId', filters.profileId);
  return `/v1/deliveries?${q.toString()}`;
}

function Attempts({ delivery }: { delivery: ActivationDelivery }) {
  if (delivery.log.length === 0) return <Text size="sm">No attempt yet{delivery.nextAttemptAt ? ` (due ${formatTime(delivery.nextAttemptAt)})` : ''}.</Text>;
  return (
    <Table fz="xs" aria-label={`Attempts of delivery ${delivery.id}`} data-testid="delivery-attempts">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>At</Table.Th>
          <Table.Th>Outcome</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Duration</Table.Th>
          <Table.Th>Error</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {delivery.log.map((a, i) => (
          <Table.Tr key={i}>
            <Table.Td>{formatTime(a.at)}</Table.Td>
            <Table.Td>{a.outcome}</Table.Td>
            <Table.Td>{a.status}</Table.Td>
            <Table.Td>{a.ms} ms</Table.Td>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>{a.error ?? '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function DeliveryRow(props: { d: ActivationDelivery; destination: string; editable: boolean; onReplay(d: ActivationDelivery): void }) {
  const { d } = props;
  const [open, setOpen] = useState(false);
  return (
    <Fragment>
      <Table.Tr data-testid="delivery-row" data-delivery-id={d.id} data-status={d.status} data-profile-id={d.profileId}>
        <Table.Td>{formatTime(d.createdAt)}</Table.Td>
        <Table.Td>{props.destination}</Table.Td>
        <Table.Td>
          {d.change} {d.segmentKey}
        </Table.Td>
        <Table.Td style={{ overflowWrap: 'anywhere' }}>{d.profileId}</Table.Td>
        <Table.Td>
          <Badge color={STATUS_COLOR[d.status] ?? 'gray'} variant="dot">
            {d.status}
          </Badge>
          {d.skipReason ? ` (${d.skipReason})` : ''}
        </Table.Td>
        <Table.Td>
          <Button
            size="xs"
            variant="subtle"
            onClick={() => setOpen((o) => !o)}
            aria-expanded={open}
            aria-label={`${open ? 'Hide' : 'Show'} the ${d.attempts} attempts of delivery ${d.id}`}
          >
            {d.attempts} {open ? '▴' : '▾'}
          </Button>
        </Table.Td>
        <Table.Td>{formatTime(d.deliveredAt)}</Table.Td>
        <Table.Td>
          {props.editable && d.status === 'dead' && (
            <Button size="xs" variant="default" onClick={() => props.onReplay(d)} data-testid="delivery-replay" aria-label={`Replay delivery ${d.id}`}>
              Replay
            </Button>
          )}
        </Table.Td>
      </Table.Tr>
      {open && (
        <Table.Tr>
          <Table.Td colSpan={8}>
            <Attempts delivery={d} />
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
}

function DeliveryFilters(props: {
  filters: Filters;
  destinations: ActivationDestination[];
  setFilter(name: keyof Filters, value: string): void;
  onRefresh(): void;
  /** Present when a destination is chosen and the user may replay. */
  onReplayDestination?: () => void;
}) {
  const { filters, setFilter } = props;
  const [profileInput, setProfileInput] = useState(filters.profileId);
  return (
    <Paper withBorder p="md">
      <form
        aria-label="Filter deliveries"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter('profileId', profileInput.trim());
        }}
      >
        <Group align="flex-end">
          <NativeSelect
            label="Destination"
            value={filters.destinationId}
            onChange={(e) => setFilter('destinationId', e.currentTarget.value)}
            data={[{ value: '', label: 'All' }, ...props.destinations.map((d) => ({ value: d.id, label: d.name }))]}
            data-testid="deliveries-destination"
          />
          <NativeSelect
            label="Status"
            value={filters.status}
            onChange={(e) => setFilter('status', e.currentTarget.value)}
            data={[{ value: '', label: 'All' }, ...STATUSES]}
            data-testid="deliveries-status"
          />
          <TextInput label="Profile id" value={profileInput} onChange={(e) => setProfileInput(e.currentTarget.value)} data-testid="deliveries-profile" />
          <Button type="submit" variant="default">
            Filter
          </Button>
          <Button variant="default" onClick={props.onRefresh} data-testid="deliveries-refresh">
            Refresh
          </Button>
          {props.onReplayDestination && (
            <Button color="red" variant="light" onClick={props.onReplayDestination} data-testid="deliveries-replay-destination">
              Replay all dead of this destination
            </Button>
          )}
        </Group>
      </form>
    </Paper>
  );
}

/** The delivery log: newest first, filtered, each delivery's attempts, replay of dead ones. */
export function DeliveriesPage() {
  const user = useUser();
  const editable = canEdit(user.role);
  const [params, setParams] = useSearchParams();
  const filters = { destinationId: params.get('destinationId') ?? '', status: params.get('status') ?? '', profileId: params.get('profileId') ?? '' };
  const path = deliveriesPath(filters);
  const res = useAsync((signal) => svc<{ deliveries: ActivationDelivery[] }>('activation', path, { signal }), [path]);
  const destinations = useAsync((signal) => svc<{ destinations: ActivationDestination[] }>('activation', '/v1/destinations', { signal }), []);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const nameOf = (id: string) => destinations.data?.destinations.find((d) => d.id === id)?.name ?? id;
  const setFilter = (name: keyof Filters, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };
  const replay = async (what: string, path: string) => {
    setError(undefined);
    try {
      const r = await svc<{ replayed: number }>('activation', path, { method: 'POST' });
      setNotice(`${what}: ${r.replayed} replayed`);
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Title order={1}>Delivery log</Title>
      <DeliveryFilters
        filters={filters}
        destinations={destinations.data?.destinations ?? []}
        setFilter={setFilter}
        onRefresh={res.reload}
        onReplayDestination={
          editable && filters.destinationId
            ? () => void replay(`Dead deliveries of ${nameOf(filters.destinationId)}`, `/v1/destinations/${seg(filters.destinationId)}/replay`)
            : undefined
        }
      />
      <Text size="sm">
        A delivery is dead after its last retry; replaying starts its attempts again. Dead deliveries are also published to Kafka&apos;s{' '}
        <code>dlq.activation</code>: the{' '}
        <Anchor component={Link} to="/live" data-testid="deliveries-dead-letters-link">
          Live page
        </Anchor>{' '}
        counts the dead letters of every service.
      </Text>
      {notice && (
        <Text size="sm" role="status" data-testid="deliveries-notice">
          {notice}
        </Text>
      )}
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} />
      {res.data && res.data.deliveries.length === 0 && <Text size="sm">No deliveries match.</Text>}
      <Table withTableBorder fz="sm" data-testid="deliveries-table" aria-label="Deliveries, newest first">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Created</Table.Th>
            <Table.Th>Destination</Table.Th>
            <Table.Th>Segment change</Table.Th>
            <Table.Th>Profile</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Attempts</Table.Th>
            <Table.Th>Delivered</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(res.data?.deliveries ?? []).map((d) => (
            <DeliveryRow
              key={d.id}
              d={d}
              destination={nameOf(d.destinationId)}
              editable={editable}
              onReplay={(x) => void replay(`Delivery ${x.id}`, `/v1/deliveries/${seg(x.id)}/replay`)}
            />
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
