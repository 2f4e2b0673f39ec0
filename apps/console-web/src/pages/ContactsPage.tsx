import { Alert, Button, Group, NativeSelect, Paper, Stack, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { ApiError, seg, svc } from '../api/client';
import type { EnrichmentProfileResponse, IdentityLookup } from '../api/types';
import { ErrorAlert } from '../components/common';
import { ContactList } from './ContactList';

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

export function ContactsPage() {
  return (
    <Stack>
      <Title order={1}>Contacts</Title>
      <SearchForm />
      <ContactList />
    </Stack>
  );
}
