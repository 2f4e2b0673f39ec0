import { Badge, Button, Checkbox, Code, Group, NativeSelect, Paper, PasswordInput, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { seg, svc } from '../../api/client';
import type { ActivationDestination } from '../../api/activation-types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { EMPTY_DESTINATION_FORM, destinationBody, formOf, type DestinationForm } from './destination-form';

type Editing = { id: string | null; form: DestinationForm };

function KindFields({ form, set, editing }: { form: DestinationForm; set(patch: Partial<DestinationForm>): void; editing: boolean }) {
  if (form.kind === 'kafka')
    return <TextInput label="Topic" required value={form.topic} onChange={(e) => set({ topic: e.currentTarget.value })} data-testid="destination-topic" />;
  if (form.kind === 'email')
    return (
      <Stack gap="xs">
        <Group grow>
          <TextInput label="SMTP host" required value={form.smtpHost} onChange={(e) => set({ smtpHost: e.currentTarget.value })} />
          <TextInput label="SMTP port" required value={form.smtpPort} onChange={(e) => set({ smtpPort: e.currentTarget.value })} />
        </Group>
        <Checkbox label="TLS from the start (port 465)" checked={form.smtpSecure} onChange={(e) => set({ smtpSecure: e.currentTarget.checked })} />
        <Group grow>
          <TextInput label="SMTP user" value={form.smtpUser} onChange={(e) => set({ smtpUser: e.currentTarget.value })} />
          <PasswordInput
            label="SMTP password"
            description={editing ? 'Never shown: enter it again to keep one' : undefined}
            value={form.smtpPassword}
            onChange={(e) => set({ smtpPassword: e.currentTarget.value })}
          />
        </Group>
        <TextInput label="From" required placeholder="Shop <news@example.com>" value={form.from} onChange={(e) => set({ from: e.currentTarget.value })} />
        <TextInput label="To (Liquid)" placeholder="{{ profile.traits.email }}" value={form.to} onChange={(e) => set({ to: e.currentTarget.value })} />
        <TextInput label="Subject (Liquid)" required value={form.subject} onChange={(e) => set({ subject: e.currentTarget.value })} />
        <Textarea label="HTML body (Liquid)" required autosize minRows={3} value={form.html} onChange={(e) => set({ html: e.currentTarget.value })} />
      </Stack>
    );
  return (
    <Stack gap="xs">
      <TextInput
        label="URL"
        required
        placeholder="https://crm.example.com/hooks/mosaic"
        value={form.url}
        onChange={(e) => set({ url: e.currentTarget.value })}
        data-testid="destination-url"
      />
      <Group grow>
        <TextInput label="Timeout (ms)" placeholder="10000" value={form.timeoutMs} onChange={(e) => set({ timeoutMs: e.currentTarget.value })} />
        <TextInput label="Requests in flight" placeholder="4" value={form.concurrency} onChange={(e) => set({ concurrency: e.currentTarget.value })} />
      </Group>
      <Textarea
        label="Extra headers (JSON object)"
        placeholder='{"X-Api-Key": "…"}'
        autosize
        minRows={2}
        value={form.headers}
        onChange={(e) => set({ headers: e.currentTarget.value })}
      />
      {!editing && <Text size="xs">A signing secret (whsec_…) is generated; an admin can reveal it from the list.</Text>}
    </Stack>
  );
}

function DestinationEditor({ editing, onDone, onCancel }: { editing: Editing; onDone(): void; onCancel(): void }) {
  const [form, setForm] = useState(editing.form);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const set = (patch: Partial<DestinationForm>) => setForm((f) => ({ ...f, ...patch }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = destinationBody(form);
      if (editing.id === null) await svc('activation', '/v1/destinations', { method: 'POST', body });
      else await svc('activation', `/v1/destinations/${seg(editing.id)}`, { method: 'PUT', body });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void submit(e)} aria-label={editing.id ? `Edit destination ${editing.id}` : 'New destination'}>
        <Stack gap="xs">
          <Title order={2} size="h3">
            {editing.id ? `Edit ${editing.id}` : 'New destination'}
          </Title>
          <Group grow align="flex-end">
            <NativeSelect
              label="Kind"
              data={['webhook', 'kafka', 'email']}
              value={form.kind}
              disabled={editing.id !== null}
              onChange={(e) => set({ kind: e.currentTarget.value as DestinationForm['kind'] })}
              data-testid="destination-kind"
            />
            <TextInput label="Name" required value={form.name} onChange={(e) => set({ name: e.currentTarget.value })} data-testid="destination-name" />
          </Group>
          <Checkbox label="Enabled" checked={form.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
          <KindFields form={form} set={set} editing={editing.id !== null} />
          <ErrorAlert error={error} title="Not saved" testId="destination-error" />
          <Group>
            <Button type="submit" loading={busy} data-testid="destination-save">
              Save
            </Button>
            <Button variant="default" onClick={onCancel}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

/** The webhook signing secret: admins only (the server refuses others; the button is not shown to them). */
function RevealSecret({ id }: { id: string }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const reveal = async () => {
    try {
      setSecret((await svc<{ secret: string }>('activation', `/v1/destinations/${seg(id)}/secret`)).secret);
    } catch (err) {
      setError(err);
    }
  };
  if (secret) return <Code data-testid="destination-secret">{secret}</Code>;
  return (
    <>
      <Button
        size="xs"
        variant="default"
        onClick={() => void reveal()}
        data-testid="destination-secret-reveal"
        aria-label={`Reveal the signing secret of ${id}`}
      >
        Reveal secret
      </Button>
      <ErrorAlert error={error} title="Secret" />
    </>
  );
}

function target(d: ActivationDestination): string {
  if (d.kind === 'webhook') return d.url ?? '';
  if (d.kind === 'kafka') return `topic ${d.topic ?? ''}`;
  return `${d.smtp?.host ?? ''} from ${d.from ?? ''}`;
}

function DestinationsTable(props: {
  rows: ActivationDestination[];
  editable: boolean;
  admin: boolean;
  onEdit(d: ActivationDestination): void;
  onDelete(d: ActivationDestination): void;
}) {
  return (
    <Table withTableBorder striped data-testid="destinations-table" aria-label="Destinations">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Id</Table.Th>
          <Table.Th>Kind</Table.Th>
          <Table.Th>Where</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Updated</Table.Th>
          <Table.Th>Actions</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {props.rows.map((d) => (
          <Table.Tr key={d.id} data-testid="destination-row" data-destination-id={d.id}>
            <Table.Td>{d.name}</Table.Td>
            <Table.Td>{d.id}</Table.Td>
            <Table.Td>{d.kind}</Table.Td>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>{target(d)}</Table.Td>
            <Table.Td>
              <Badge variant="dot" color={d.enabled ? 'green' : 'gray'}>
                {d.enabled ? 'enabled' : 'disabled'}
              </Badge>
            </Table.Td>
            <Table.Td>{formatTime(d.updatedAt)}</Table.Td>
            <Table.Td>
              <Group gap="xs">
                {props.editable && (
                  <Button size="xs" variant="default" onClick={() => props.onEdit(d)} aria-label={`Edit destination ${d.name}`}>
                    Edit
                  </Button>
                )}
                {props.editable && (
                  <Button size="xs" variant="default" color="red" onClick={() => props.onDelete(d)} aria-label={`Delete destination ${d.name}`}>
                    Delete
                  </Button>
                )}
                {props.admin && d.kind === 'webhook' && <RevealSecret id={d.id} />}
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Activation's destinations: webhooks, Kafka topics, email (docs/activation.md). */
export function DestinationsPage() {
  const user = useUser();
  const res = useAsync((signal) => svc<{ destinations: ActivationDestination[] }>('activation', '/v1/destinations', { signal }), []);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const editable = canEdit(user.role);
  const remove = async (d: ActivationDestination) => {
    if (!window.confirm(`Delete destination ${d.name}? (Refused while triggers use it.)`)) return;
    setError(undefined);
    try {
      await svc('activation', `/v1/destinations/${seg(d.id)}`, { method: 'DELETE' });
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Destinations</Title>
        {editable && !editing && (
          <Button onClick={() => setEditing({ id: null, form: EMPTY_DESTINATION_FORM })} data-testid="destination-new">
            New destination
          </Button>
        )}
      </Group>
      {editing && (
        <DestinationEditor
          key={editing.id ?? 'new'}
          editing={editing}
          onCancel={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            res.reload();
          }}
        />
      )}
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} />
      {res.data && res.data.destinations.length === 0 && <Text size="sm">No destinations yet.</Text>}
      <DestinationsTable
        rows={res.data?.destinations ?? []}
        editable={editable}
        admin={user.role === 'admin'}
        onEdit={(d) => setEditing({ id: d.id, form: formOf(d) })}
        onDelete={(d) => void remove(d)}
      />
    </Stack>
  );
}
