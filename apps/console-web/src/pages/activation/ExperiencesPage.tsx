import { Alert, Badge, Button, Group, List, Paper, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage, seg, svc } from '../../api/client';
import type { ActivationExperience } from '../../api/activation-types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { ExperiencePreview } from './ExperiencePreview';

const EXAMPLE = {
  id: 'home-banner-v1',
  slot: 'home-banner',
  name: 'Home banner',
  enabled: true,
  holdoutPercent: 0,
  rules: [
    {
      id: 'premium-coffee',
      when: { segments: { any: ['premium-coffee-browsers'] } },
      content: { html: '<h2>{{ profile.traits.firstName | default: "Coffee lover" }}, meet the Barista Pro 900</h2>' },
    },
  ],
  default: { html: '<h2>Fresh coffee, every day</h2>' },
};

/** The stored experience without its times: what PUT takes back. */
function editable(e: ActivationExperience): string {
  const { createdAt: _c, updatedAt: _u, ...body } = e;
  return JSON.stringify(body, null, 2);
}

/** The service's 400 names each problem by JSON path: listed one per line. */
function ValidationErrors({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const details = error instanceof ApiError ? error.details : [];
  if (details.length === 0) return <ErrorAlert error={error} title="Not saved" testId="experience-error" />;
  return (
    <Alert color="red" title="Not saved: the experience is not valid" role="alert" data-testid="experience-error">
      <List size="sm">
        {details.map((d, i) => (
          <List.Item key={i}>
            <code>{d.path}</code>: {d.message}
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}

function ExperienceEditor({ id, initial, onDone, onCancel }: { id: string | null; initial: string; onDone(): void; onCancel(): void }) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(new Error(`Not valid JSON: ${errorMessage(err)}`));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (id === null) await svc('activation', '/v1/experiences', { method: 'POST', body });
      else await svc('activation', `/v1/experiences/${seg(id)}`, { method: 'PUT', body });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void submit(e)} aria-label={id ? `Edit experience ${id}` : 'New experience'}>
        <Stack gap="xs">
          <Title order={2} size="h3">
            {id ? `Edit ${id}` : 'New experience'}
          </Title>
          <Text size="sm">
            Per slot, ordered rules over segments, traits and computed attributes (the first that matches wins), a default, a holdout percentage. Content: one
            of html, text or json, with Liquid templates over the profile (docs/activation.md).
          </Text>
          <Textarea
            label="Experience (JSON)"
            autosize
            minRows={12}
            maxRows={30}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            styles={{ input: { fontFamily: 'monospace', fontSize: 13 } }}
            data-testid="experience-json"
          />
          <ValidationErrors error={error} />
          <Group>
            <Button type="submit" loading={busy} data-testid="experience-save">
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

/** Experiences (personalised content per page slot) and a preview of what a chosen contact would see. */
export function ExperiencesPage() {
  const user = useUser();
  const canChange = canEdit(user.role);
  const res = useAsync((signal) => svc<{ experiences: ActivationExperience[] }>('activation', '/v1/experiences', { signal }), []);
  const [editing, setEditing] = useState<{ id: string | null; text: string } | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const remove = async (e: ActivationExperience) => {
    if (!window.confirm(`Delete experience ${e.id}? Its slot shows nothing until another experience covers it.`)) return;
    setError(undefined);
    try {
      await svc('activation', `/v1/experiences/${seg(e.id)}`, { method: 'DELETE' });
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Experiences</Title>
        {canChange && !editing && (
          <Button onClick={() => setEditing({ id: null, text: JSON.stringify(EXAMPLE, null, 2) })} data-testid="experience-new">
            New experience
          </Button>
        )}
      </Group>
      {editing && (
        <ExperienceEditor
          key={editing.id ?? 'new'}
          id={editing.id}
          initial={editing.text}
          onCancel={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            res.reload();
          }}
        />
      )}
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} />
      {res.data && res.data.experiences.length === 0 && <Text size="sm">No experiences yet.</Text>}
      <Table withTableBorder striped data-testid="experiences-table" aria-label="Experiences">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Id</Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Slot</Table.Th>
            <Table.Th>Rules</Table.Th>
            <Table.Th>Holdout</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Updated</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(res.data?.experiences ?? []).map((e) => (
            <Table.Tr key={e.id} data-testid="experience-row" data-experience-id={e.id}>
              <Table.Td>{e.id}</Table.Td>
              <Table.Td>{e.name}</Table.Td>
              <Table.Td>{e.slot}</Table.Td>
              <Table.Td>{e.rules.map((r) => r.id).join(', ') || '—'}</Table.Td>
              <Table.Td>{e.holdoutPercent}%</Table.Td>
              <Table.Td>
                <Badge variant="dot" color={e.enabled ? 'green' : 'gray'}>
                  {e.enabled ? 'enabled' : 'disabled'}
                </Badge>
              </Table.Td>
              <Table.Td>{formatTime(e.updatedAt)}</Table.Td>
              <Table.Td>
                {canChange && (
                  <Group gap="xs">
                    <Button size="xs" variant="default" onClick={() => setEditing({ id: e.id, text: editable(e) })} aria-label={`Edit experience ${e.id}`}>
                      Edit
                    </Button>
                    <Button size="xs" variant="default" onClick={() => void remove(e)} aria-label={`Delete experience ${e.id}`}>
                      Delete
                    </Button>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <ExperiencePreview />
    </Stack>
  );
}
