import { Alert, Badge, Button, Code, CopyButton, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { seg, svc } from '../../api/client';
import type { CreatedSource, Source } from '../../api/types';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';
import { SnippetPanel } from './SnippetPanel';

function Secret({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Group gap="xs" wrap="nowrap" align="center">
      <Text size="sm" fw={600} w={130}>
        {label}
      </Text>
      <Code data-testid={testId} style={{ overflowWrap: 'anywhere' }}>
        {value}
      </Code>
      <CopyButton value={value}>
        {({ copied, copy }) => (
          <Button size="xs" variant="default" onClick={copy} aria-label={`Copy the ${label.toLowerCase()}`}>
            {copied ? 'Copied' : 'Copy'}
          </Button>
        )}
      </CopyButton>
    </Group>
  );
}

function CreateSource({ onCreated }: { onCreated(s: CreatedSource): void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await svc<CreatedSource>('collector', '/v1/sources', { method: 'POST', body: { name: name.trim() } }));
      setName('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Create a source">
      <Group align="flex-end">
        <TextInput label="New source name" placeholder="website" value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="source-new-name" />
        <Button type="submit" loading={busy} disabled={name.trim() === ''} data-testid="source-create">
          Create source
        </Button>
      </Group>
      <ErrorAlert error={error} title="Not created" />
    </form>
  );
}

function Created({ source }: { source: CreatedSource }) {
  return (
    <Alert color="green" title={`Source ${source.name} created`} role="status" data-testid="source-created">
      <Stack gap="xs">
        <Text size="sm">Copy the keys now: they are shown only once (only their digests are stored).</Text>
        <Secret label="Write key" value={source.writeKey} testId="source-created-write-key" />
        <Secret label="Server key" value={source.serverKey} testId="source-created-server-key" />
        <Secret label="Identity secret" value={source.identitySecret} testId="source-created-identity-secret" />
      </Stack>
    </Alert>
  );
}

function SourcesTable({ sources, onRevoke }: { sources: Source[]; onRevoke(s: Source): void }) {
  return (
    <Table withTableBorder striped data-testid="sources-table" aria-label="Sources">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Id</Table.Th>
          <Table.Th>Write key</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Created</Table.Th>
          <Table.Th>Actions</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {sources.map((s) => (
          <Table.Tr key={s.id} data-testid="source-row" data-source-id={s.id}>
            <Table.Td>{s.name}</Table.Td>
            <Table.Td>{s.id}</Table.Td>
            <Table.Td>{s.writeKeyPrefix ? `${s.writeKeyPrefix}…` : '—'}</Table.Td>
            <Table.Td>
              <Badge variant="dot" color={s.revokedAt ? 'red' : 'green'}>
                {s.revokedAt ? `revoked ${formatTime(s.revokedAt)}` : 'active'}
              </Badge>
            </Table.Td>
            <Table.Td>{formatTime(s.createdAt)}</Table.Td>
            <Table.Td>
              {!s.revokedAt && (
                <Button size="xs" variant="default" onClick={() => onRevoke(s)} aria-label={`Revoke source ${s.name}`}>
                  Revoke
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function SourcesPage() {
  const res = useAsync((signal) => svc<{ sources: Source[] }>('collector', '/v1/sources', { signal }), []);
  const [created, setCreated] = useState<CreatedSource | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const revoke = async (s: Source) => {
    if (!window.confirm(`Revoke ${s.name}? Its keys stop working at once.`)) return;
    setError(undefined);
    try {
      await svc<Source>('collector', `/v1/sources/${seg(s.id)}`, { method: 'DELETE' });
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Title order={1}>Sources</Title>
      <Paper withBorder p="md">
        <CreateSource
          onCreated={(s) => {
            setCreated(s);
            res.reload();
          }}
        />
      </Paper>
      {created && <Created source={created} />}
      <SnippetPanel writeKey={created?.writeKey ?? ''} key={created?.id ?? 'none'} />
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} />
      <SourcesTable sources={res.data?.sources ?? []} onRevoke={(s) => void revoke(s)} />
    </Stack>
  );
}
