import { Badge, Button, Code, Group, NativeSelect, Stack, Table, Text, Title } from '@mantine/core';
import { Fragment, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api, seg } from '../../api/client';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, formatTime, useAsync } from '../../components/common';

/** A dead letter as the console's `GET /api/dead-letters` answers it (docs/console.md). */
interface DeadLetterView {
  id: string;
  topic: string;
  service: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  key?: string;
  error: { name: string; message: string };
  attempts: number;
  failedAt: string;
  headers: Record<string, string>;
  value: { text: string | null; binary: boolean; truncated: boolean; bytes: number };
  replayable: boolean;
  replayed?: { count: number; lastBy: string; lastAt: string };
}

/** What `POST /api/dead-letters/{id}/replay` answers. */
type ReplayResult = { kind: 'topic'; topic: string; partition: number } | { kind: 'delivery'; deliveryId: string };

const replayNotice = (id: string, r: ReplayResult): string =>
  r.kind === 'delivery'
    ? `Dead letter ${id}: activation delivers ${r.deliveryId} again (its delivery log shows how it goes).`
    : `Dead letter ${id} sent back to ${r.topic} (partition ${r.partition}).`;

interface DeadLetterList {
  topics: string[];
  deadLetters: DeadLetterView[];
  complete: boolean;
}

function Details({ d }: { d: DeadLetterView }) {
  return (
    <Stack gap="xs" data-testid="dead-letter-details">
      <Text size="sm">
        Read from <Code>{d.sourceTopic}</Code> partition {d.sourcePartition}, offset {d.sourceOffset}; {d.attempts} attempt{d.attempts === 1 ? '' : 's'}.
      </Text>
      <Text size="sm" fw={600}>
        Headers
      </Text>
      <Code block>{JSON.stringify(d.headers, null, 2)}</Code>
      <Text size="sm" fw={600}>
        Value ({d.value.bytes} bytes{d.value.truncated ? ', cut' : ''})
      </Text>
      {d.value.binary ? <Text size="sm">Not text (binary).</Text> : <Code block>{d.value.text}</Code>}
    </Stack>
  );
}

function DeadLetterRow(props: { d: DeadLetterView; editable: boolean; replaying: boolean; onReplay(d: DeadLetterView): void }) {
  const { d } = props;
  const [open, setOpen] = useState(false);
  return (
    <Fragment>
      <Table.Tr data-testid="dead-letter-row" data-dead-letter-id={d.id} data-service={d.service}>
        <Table.Td>{formatTime(d.failedAt)}</Table.Td>
        <Table.Td>{d.service}</Table.Td>
        <Table.Td style={{ overflowWrap: 'anywhere' }}>{d.key ?? '—'}</Table.Td>
        <Table.Td style={{ overflowWrap: 'anywhere' }} data-testid="dead-letter-error">
          <strong>{d.error.name}</strong>: {d.error.message}
        </Table.Td>
        <Table.Td data-testid="dead-letter-replayed">
          {d.replayed ? (
            <Badge color="green" variant="dot">
              replayed {d.replayed.count}× (last by {d.replayed.lastBy}, {formatTime(d.replayed.lastAt)})
            </Badge>
          ) : (
            '—'
          )}
        </Table.Td>
        <Table.Td>
          <Group gap="xs" wrap="nowrap">
            <Button
              size="xs"
              variant="subtle"
              onClick={() => setOpen((o) => !o)}
              aria-expanded={open}
              aria-label={`${open ? 'Hide' : 'Show'} dead letter ${d.id}`}
            >
              {open ? 'Hide' : 'Show'}
            </Button>
            {props.editable && d.replayable && (
              <Button
                size="xs"
                variant="default"
                onClick={() => props.onReplay(d)}
                loading={props.replaying}
                disabled={props.replaying}
                data-testid="dead-letter-replay"
                aria-label={`Replay dead letter ${d.id}`}
              >
                Replay
              </Button>
            )}
          </Group>
        </Table.Td>
      </Table.Tr>
      {open && (
        <Table.Tr>
          <Table.Td colSpan={6}>
            <Details d={d} />
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
}

/** Dead letters of every stage, newest first; replay (editors and admins) sends one back to the topic it came from. */
export function DeadLettersPage() {
  const user = useUser();
  const editable = canEdit(user.role);
  const [params, setParams] = useSearchParams();
  const topic = params.get('topic') ?? '';
  const path = topic ? `/dead-letters?topic=${seg(topic)}` : '/dead-letters';
  const res = useAsync((signal) => api<DeadLetterList>(path, { signal }), [path]);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  // One replay at a time per letter: a second click while the first is on its way would send it twice.
  const [replaying, setReplaying] = useState<string | null>(null);
  const replay = async (d: DeadLetterView) => {
    setError(undefined);
    setReplaying(d.id);
    try {
      const r = await api<ReplayResult>(`/dead-letters/${seg(d.id)}/replay`, { method: 'POST' });
      setNotice(replayNotice(d.id, r));
      res.reload();
    } catch (err) {
      setError(err);
    } finally {
      setReplaying(null);
    }
  };
  const chooseTopic = (value: string) => setParams(value ? new URLSearchParams({ topic: value }) : new URLSearchParams(), { replace: true });
  return (
    <Stack>
      <Title order={1}>Dead letters</Title>
      <Text size="sm">
        Messages a stage could not process, with the error (docs/contracts.md, &quot;Dead letters&quot;). Replaying sends the original message back to the topic
        and partition it came from; the stage tries it again, and one that fails again comes back here as a new dead letter. A dead webhook or email delivery of
        activation is delivered again instead.
      </Text>
      <Group align="flex-end">
        <NativeSelect
          label="Topic"
          value={topic}
          onChange={(e) => chooseTopic(e.currentTarget.value)}
          data={[{ value: '', label: 'All' }, ...(res.data?.topics ?? (topic ? [topic] : []))]}
          data-testid="dead-letters-topic"
        />
        <Button variant="default" onClick={res.reload} data-testid="dead-letters-refresh">
          Refresh
        </Button>
      </Group>
      {notice && (
        <Text size="sm" role="status" data-testid="dead-letters-notice">
          {notice}
        </Text>
      )}
      {res.data && !res.data.complete && <Text size="sm">Still reading the dead-letter topics: older ones may be missing.</Text>}
      {res.loading && !res.data && <LoadingLine />}
      <ErrorAlert error={res.error ?? error} testId="dead-letters-error" />
      {res.data && res.data.deadLetters.length === 0 && <Text size="sm">No dead letters.</Text>}
      <Table withTableBorder fz="sm" data-testid="dead-letters-table" aria-label="Dead letters, newest first">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Failed</Table.Th>
            <Table.Th>Service</Table.Th>
            <Table.Th>Key</Table.Th>
            <Table.Th>Error</Table.Th>
            <Table.Th>Replayed</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(res.data?.deadLetters ?? []).map((d) => (
            <DeadLetterRow key={d.id} d={d} editable={editable} replaying={replaying === d.id} onReplay={(x) => void replay(x)} />
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
