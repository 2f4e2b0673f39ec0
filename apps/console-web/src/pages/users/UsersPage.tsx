import { Button, Group, NativeSelect, Paper, PasswordInput, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api, seg } from '../../api/client';
import type { ConsoleUser } from '../../api/activation-types';
import type { Role } from '../../api/types';
import { useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

const ROLES: Role[] = ['viewer', 'editor', 'admin'];

function CreateUser({ onCreated }: { onCreated(u: ConsoleUser): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await api<ConsoleUser>('/users', { method: 'POST', body: { username: username.trim(), password, role } }));
      setUsername('');
      setPassword('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void submit(e)} aria-label="Create a user">
        <Stack gap="xs">
          <Title order={2} size="h3">
            New user
          </Title>
          <Group align="flex-end">
            <TextInput
              label="Username"
              description="3–64 of a-z 0-9 . _ @ -"
              required
              autoComplete="off"
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
              data-testid="user-new-username"
            />
            <PasswordInput
              label="Password"
              description="At least 12 characters"
              required
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              data-testid="user-new-password"
            />
            <NativeSelect label="Role" data={ROLES} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} data-testid="user-new-role" />
            <Button type="submit" loading={busy} disabled={username.trim() === '' || password === ''} data-testid="user-create">
              Create user
            </Button>
          </Group>
          <ErrorAlert error={error} title="Not created" testId="user-error" />
        </Stack>
      </form>
    </Paper>
  );
}

/** The console's users (admins only; docs/console.md `/api/users`). */
export function UsersPage() {
  const me = useUser();
  const res = useAsync((signal) => api<{ users: ConsoleUser[] }>('/users', { signal }), []);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const remove = async (u: ConsoleUser) => {
    if (!window.confirm(`Delete user ${u.username}? Their sessions end at once.`)) return;
    setError(undefined);
    try {
      await api<null>(`/users/${seg(u.username)}`, { method: 'DELETE' });
      setNotice(`User ${u.username} deleted`);
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Title order={1}>Users</Title>
      <CreateUser
        onCreated={(u) => {
          setNotice(`User ${u.username} (${u.role}) created`);
          res.reload();
        }}
      />
      {notice && (
        <Text size="sm" role="status" data-testid="users-notice">
          {notice}
        </Text>
      )}
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} />
      <Table withTableBorder striped data-testid="users-table" aria-label="Users">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Username</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(res.data?.users ?? []).map((u) => (
            <Table.Tr key={u.username} data-testid="user-row" data-username={u.username}>
              <Table.Td>{u.username}</Table.Td>
              <Table.Td>{u.role}</Table.Td>
              <Table.Td>{formatTime(u.createdAt)}</Table.Td>
              <Table.Td>
                {u.username !== me.username && (
                  <Button size="xs" variant="default" onClick={() => void remove(u)} aria-label={`Delete user ${u.username}`}>
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
