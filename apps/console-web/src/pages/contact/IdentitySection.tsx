import { Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { seg, svc } from '../../api/client';
import type { AuditRecord, AuditResponse, IdentityProfileResponse } from '../../api/types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, formatTime, useAsync } from '../../components/common';
import { SplitDialog } from './SplitDialog';

/** Why a merge happened, from its audit record (`linkedBy`, `survivorReason`, rule). */
export function mergeReason(record: AuditRecord | undefined): string {
  if (!record) return 'no audit record found';
  const d = record.details;
  const parts = [
    typeof d['linkedBy'] === 'string' ? `${d['linkedBy']} links both profiles` : null,
    typeof d['survivorReason'] === 'string' ? d['survivorReason'] : null,
  ];
  const text = parts.filter(Boolean).join('; ');
  return text === '' ? `rule ${record.rule}${d['rederived'] ? ' (re-emitted)' : ''}` : `${text} (rule ${record.rule})`;
}

function contactLink(id: string) {
  return (
    <Anchor component={Link} to={`/contacts/${encodeURIComponent(id)}`}>
      {id}
    </Anchor>
  );
}

function Identifiers({ identity }: { identity: IdentityProfileResponse }) {
  return (
    <Table withTableBorder aria-label="Identifiers" data-testid="contact-identifiers">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Type</Table.Th>
          <Table.Th>Value</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {identity.profile.identifiers.map((i) => (
          <Table.Tr key={`${i.type}:${i.value}`}>
            <Table.Td>{i.type}</Table.Td>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>{i.value}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Merges({ identity, audit }: { identity: IdentityProfileResponse; audit: AuditRecord[] }) {
  const history = [...identity.profile.mergeHistory].reverse();
  const mergeRecord = (loser: string, messageId: string) =>
    audit.find((r) => r.kind === 'merge' && r.details['loserId'] === loser) ?? audit.find((r) => r.kind === 'merge' && r.triggeringMessageId === messageId);
  return (
    <div data-testid="contact-merges">
      <Title order={3} size="h5" mb="xs">
        Merge history
      </Title>
      {history.length === 0 ? (
        <Text size="sm" c="dimmed">
          No profile was merged into this one.
        </Text>
      ) : (
        <Table withTableBorder aria-label="Merge history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Merged profile</Table.Th>
              <Table.Th>Reason</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {history.map((m) => (
              <Table.Tr key={`${m.profileId}:${m.messageId}`}>
                <Table.Td>{formatTime(m.at)}</Table.Td>
                <Table.Td>{m.profileId}</Table.Td>
                <Table.Td>{mergeReason(mergeRecord(m.profileId, m.messageId))}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </div>
  );
}

function auditSummary(r: AuditRecord): string {
  const d = r.details;
  if (r.kind === 'merge') return `${String(d['loserId'] ?? '?')} merged into ${String(d['survivorId'] ?? r.profileId)}: ${mergeReason(r)}`;
  if (r.kind === 'split') return `identifiers split off into ${String(d['newProfileId'] ?? '?')}: ${String(d['reason'] ?? '')}`;
  const id = d['identifier'] as { type?: string; value?: string } | undefined;
  const idText = id ? `${id.type}:${id.value}` : '';
  if (r.kind === 'moved') return `${idText} moved from ${String(d['fromProfileId'] ?? '?')} to ${String(d['toProfileId'] ?? '?')}`;
  if (r.kind === 'refused') return `${idText} refused`;
  return r.kind;
}

function AuditTable({ records }: { records: AuditRecord[] }) {
  if (records.length === 0) return null;
  return (
    <details>
      <summary>Audit ({records.length} records)</summary>
      <Table withTableBorder fz="sm" aria-label="Identity audit" mt="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Rule</Table.Th>
            <Table.Th>What</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {records.map((r) => (
            <Table.Tr key={r.id}>
              <Table.Td>{formatTime(r.at)}</Table.Td>
              <Table.Td>
                <Badge variant="dot">{r.kind}</Badge>
              </Table.Td>
              <Table.Td>{r.rule}</Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{auditSummary(r)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </details>
  );
}

export function IdentitySection({ profileId, identity, reload }: { profileId: string; identity?: IdentityProfileResponse; reload(): void }) {
  const user = useUser();
  const [splitOpen, setSplitOpen] = useState(false);
  const [splitDone, setSplitDone] = useState<string | null>(null);
  const audit = useAsync((signal) => svc<AuditResponse>('identity', `/v1/profiles/${seg(profileId)}/audit?limit=200`, { signal }), [profileId]);
  const records = audit.data?.records ?? [];

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="identity-heading">
      <Stack>
        <Group justify="space-between">
          <Title order={2} size="h3" id="identity-heading">
            Identity{' '}
            {identity && (
              <Badge variant="dot" color={identity.profile.known ? 'green' : 'gray'}>
                {identity.profile.known ? 'known' : 'anonymous'}
              </Badge>
            )}
          </Title>
          {identity && canEdit(user.role) && (
            <Button variant="default" onClick={() => setSplitOpen(true)} data-testid="split-open">
              Split…
            </Button>
          )}
        </Group>
        {splitDone && (
          <Text size="sm" role="status" data-testid="split-done">
            Split done: new contact {contactLink(splitDone)}.
          </Text>
        )}
        {identity && <Identifiers identity={identity} />}
        {identity && <Merges identity={identity} audit={records} />}
        <ErrorAlert error={audit.error} title="Audit" />
        <AuditTable records={records} />
      </Stack>
      {identity && (
        <SplitDialog
          opened={splitOpen}
          onClose={() => setSplitOpen(false)}
          identity={identity}
          onDone={(newId) => {
            setSplitOpen(false);
            setSplitDone(newId);
            reload();
            audit.reload();
          }}
        />
      )}
    </Paper>
  );
}
