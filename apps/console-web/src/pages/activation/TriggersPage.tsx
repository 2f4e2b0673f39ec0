import { Button, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { seg, svc } from '../../api/client';
import type { ActivationDestination, ActivationTrigger } from '../../api/activation-types';
import type { Segment } from '../../api/types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

function CreateTrigger({ destinations, segmentKeys, onCreated }: { destinations: ActivationDestination[]; segmentKeys: string[]; onCreated(): void }) {
  const [segmentKey, setSegmentKey] = useState('');
  const [on, setOn] = useState<'entered' | 'exited'>('entered');
  const [destinationId, setDestinationId] = useState('');
  const [delay, setDelay] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const chosen = destinationId || destinations[0]?.id || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const delaySeconds = delay.trim() === '' ? undefined : Number(delay);
      await svc('activation', '/v1/triggers', { method: 'POST', body: { segmentKey: segmentKey.trim(), on, destinationId: chosen, delaySeconds } });
      setSegmentKey('');
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void submit(e)} aria-label="New trigger">
        <Stack gap="xs">
          <Title order={2} size="h3">
            New trigger
          </Title>
          <Group align="flex-end" grow>
            <TextInput
              label="Segment key"
              required
              list="trigger-segment-keys"
              value={segmentKey}
              onChange={(e) => setSegmentKey(e.currentTarget.value)}
              data-testid="trigger-segment"
            />
            <NativeSelect
              label="When the profile"
              data={['entered', 'exited']}
              value={on}
              onChange={(e) => setOn(e.currentTarget.value as 'entered' | 'exited')}
              data-testid="trigger-on"
            />
            <NativeSelect
              label="Destination"
              data={destinations.map((d) => ({ value: d.id, label: `${d.name} (${d.kind})` }))}
              value={chosen}
              onChange={(e) => setDestinationId(e.currentTarget.value)}
              data-testid="trigger-destination"
            />
            <TextInput label="Delay (seconds)" placeholder="0" value={delay} onChange={(e) => setDelay(e.currentTarget.value)} />
          </Group>
          <datalist id="trigger-segment-keys">
            {segmentKeys.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          {destinations.length === 0 && <Text size="sm">Create a destination first.</Text>}
          <ErrorAlert error={error} title="Not created" testId="trigger-error" />
          <Group>
            <Button type="submit" loading={busy} disabled={segmentKey.trim() === '' || chosen === ''} data-testid="trigger-new">
              Create trigger
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

/** Triggers: on entering or exiting a segment, deliver to a destination. */
export function TriggersPage() {
  const user = useUser();
  const editable = canEdit(user.role);
  const triggers = useAsync((signal) => svc<{ triggers: ActivationTrigger[] }>('activation', '/v1/triggers', { signal }), []);
  const destinations = useAsync((signal) => svc<{ destinations: ActivationDestination[] }>('activation', '/v1/destinations', { signal }), []);
  // Only suggestions: a trigger may name a segment that is not defined yet.
  const segments = useAsync((signal) => svc<{ segments: Segment[] }>('segmentation', '/v1/segments', { signal }).catch(() => ({ segments: [] })), []);
  const [error, setError] = useState<unknown>(undefined);
  const nameOf = (id: string) => destinations.data?.destinations.find((d) => d.id === id)?.name ?? id;
  const remove = async (t: ActivationTrigger) => {
    if (!window.confirm(`Delete the trigger on ${t.segmentKey}? Pending deliveries are still sent.`)) return;
    setError(undefined);
    try {
      await svc('activation', `/v1/triggers/${seg(t.id)}`, { method: 'DELETE' });
      triggers.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Title order={1}>Triggers</Title>
      {editable && destinations.data && (
        <CreateTrigger
          destinations={destinations.data.destinations}
          segmentKeys={(segments.data?.segments ?? []).map((s) => s.key)}
          onCreated={triggers.reload}
        />
      )}
      {triggers.loading && !triggers.data && <LoadingLine />}
      <ErrorAlert error={triggers.error ?? destinations.error ?? error} />
      {triggers.data && triggers.data.triggers.length === 0 && <Text size="sm">No triggers yet.</Text>}
      <Table withTableBorder striped data-testid="triggers-table" aria-label="Triggers">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Segment</Table.Th>
            <Table.Th>On</Table.Th>
            <Table.Th>Destination</Table.Th>
            <Table.Th>Delay</Table.Th>
            <Table.Th>Frequency cap</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(triggers.data?.triggers ?? []).map((t) => (
            <Table.Tr key={t.id} data-testid="trigger-row" data-trigger-id={t.id}>
              <Table.Td>{t.segmentKey}</Table.Td>
              <Table.Td>{t.on}</Table.Td>
              <Table.Td>{nameOf(t.destinationId)}</Table.Td>
              <Table.Td>{t.delaySeconds > 0 ? `${t.delaySeconds} s` : '—'}</Table.Td>
              <Table.Td>{t.frequencyCap ? `${t.frequencyCap.max} per ${t.frequencyCap.perSeconds} s` : '—'}</Table.Td>
              <Table.Td>{formatTime(t.createdAt)}</Table.Td>
              <Table.Td>
                {editable && (
                  <Button size="xs" variant="default" onClick={() => void remove(t)} aria-label={`Delete the trigger on ${t.segmentKey}`}>
                    Delete
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
