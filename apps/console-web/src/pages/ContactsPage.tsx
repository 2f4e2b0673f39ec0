import { Alert, Anchor, Button, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, seg, svc } from '../api/client';
import type { EnrichmentProfileResponse, IdentityLookup, Segment } from '../api/types';
import { ErrorAlert, useAsync } from '../components/common';

const TYPES = [
  { value: 'email', label: 'Email' },
  { value: 'userId', label: 'User id' },
  { value: 'anonymousId', label: 'Anonymous id' },
  { value: 'phone', label: 'Phone (E.164)' },
  { value: 'external', label: 'External id' },
];

/** identity first (it owns profile ids and normalises email/phone); enrichment when identity has no live profile. */
export async function resolveProfile(type: string, value: string): Promise<string | null> {
  try {
    const found = await svc<IdentityLookup>('identity', `/v1/identities/${seg(type)}/${seg(value)}`);
    if (found.profileId) return found.profileId;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  try {
    const p = await svc<EnrichmentProfileResponse>('enrichment', `/v1/profiles/by/${seg(type)}/${seg(value)}`);
    return p.profileId;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

function SearchForm() {
  const navigate = useNavigate();
  const [type, setType] = useState('email');
  const [externalName, setExternalName] = useState('');
  const [value, setValue] = useState('');
  const [notFound, setNotFound] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const v = value.trim();
    if (v === '') return;
    const fullType = type === 'external' ? `external:${externalName.trim().toLowerCase()}` : type;
    setBusy(true);
    setNotFound(null);
    setError(undefined);
    try {
      const id = await resolveProfile(fullType, v);
      if (id) navigate(`/contacts/${encodeURIComponent(id)}`);
      else setNotFound(`No contact has ${fullType} “${v}”.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void onSubmit(e)} role="search" aria-label="Find a contact">
        <Stack>
          <Title order={2} size="h3">
            Find a contact by identifier
          </Title>
          <Group align="flex-end" wrap="wrap">
            <NativeSelect label="Identifier type" data={TYPES} value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="search-type" />
            {type === 'external' && (
              <TextInput label="External id name" placeholder="crm" value={externalName} onChange={(e) => setExternalName(e.currentTarget.value)} required />
            )}
            <TextInput
              label="Value"
              placeholder="ada@example.com"
              value={value}
              onChange={(e) => setValue(e.currentTarget.value)}
              data-testid="search-value"
              style={{ flex: 1, minWidth: 240 }}
            />
            <Button type="submit" loading={busy} data-testid="search-submit">
              Find
            </Button>
          </Group>
          {notFound && (
            <Alert color="yellow" role="status" data-testid="search-not-found">
              {notFound}
            </Alert>
          )}
          <ErrorAlert error={error} title="Search failed" />
        </Stack>
      </form>
    </Paper>
  );
}

function SegmentMembers() {
  const segments = useAsync((signal) => svc<{ segments: Segment[] }>('segmentation', '/v1/segments', { signal }), []);
  const [key, setKey] = useState('');
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after[after.length - 1];
  const members = useAsync(
    (signal) =>
      key === ''
        ? Promise.resolve(null)
        : svc<{ profileIds: string[]; next: string | null }>(
            'segmentation',
            `/v1/segments/${seg(key)}/members?limit=50${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
            { signal },
          ),
    [key, cursor],
  );
  const options = [
    { value: '', label: 'Choose a segment' },
    ...(segments.data?.segments ?? []).map((s) => ({ value: s.key, label: s.definition.name ?? s.key })),
  ];

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2} size="h3">
          Members of a segment
        </Title>
        <ErrorAlert error={segments.error} />
        <NativeSelect
          label="Segment"
          data={options}
          value={key}
          onChange={(e) => {
            setKey(e.currentTarget.value);
            setAfter([]);
          }}
          maw={400}
        />
        <ErrorAlert error={members.error} />
        {members.data && (
          <>
            {members.data.profileIds.length === 0 ? (
              <Text size="sm">No members.</Text>
            ) : (
              <Table withTableBorder aria-label="Segment members" data-testid="segment-members">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Profile</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {members.data.profileIds.map((id) => (
                    <Table.Tr key={id}>
                      <Table.Td>
                        <Anchor component={Link} to={`/contacts/${encodeURIComponent(id)}`}>
                          {id}
                        </Anchor>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            <Group>
              <Button variant="default" size="xs" disabled={after.length === 0} onClick={() => setAfter(after.slice(0, -1))}>
                Previous page
              </Button>
              <Button variant="default" size="xs" disabled={!members.data.next} onClick={() => members.data?.next && setAfter([...after, members.data.next])}>
                Next page
              </Button>
            </Group>
          </>
        )}
      </Stack>
    </Paper>
  );
}

export function ContactsPage() {
  return (
    <Stack>
      <Title order={1}>Contacts</Title>
      <SearchForm />
      <SegmentMembers />
    </Stack>
  );
}
