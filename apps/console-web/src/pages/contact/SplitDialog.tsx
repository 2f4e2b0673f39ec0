import { Button, Checkbox, Group, Modal, Stack, Text, Textarea } from '@mantine/core';
import { useRef, useState } from 'react';
import { idempotencyKey, seg, svc } from '../../api/client';
import type { IdentityProfileResponse } from '../../api/types';
import { ErrorAlert } from '../../components/common';

interface SplitProps {
  opened: boolean;
  onClose(): void;
  identity: IdentityProfileResponse;
  onDone(newProfileId: string): void;
}

/** identity `POST /v1/profiles/{id}/split` with an Idempotency-Key per split (kept across retries of the same split). */
export function SplitDialog({ opened, onClose, identity, onDone }: SplitProps) {
  const [selected, setSelected] = useState<string[]>([]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const key = useRef<string | null>(null);
  const ids = identity.profile.identifiers;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    key.current ??= idempotencyKey();
    try {
      const identifiers = ids.filter((i) => selected.includes(`${i.type}:${i.value}`));
      const r = await svc<{ newProfileId: string }>('identity', `/v1/profiles/${seg(identity.profileId)}/split`, {
        method: 'POST',
        headers: { 'Idempotency-Key': key.current },
        body: { identifiers, ...(reason.trim() ? { reason: reason.trim() } : {}) },
      });
      key.current = null;
      setSelected([]);
      setReason('');
      onDone(r.newProfileId);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title="Split identifiers into a new contact"
      closeButtonProps={{ 'aria-label': 'Close' }}
      transitionProps={{ duration: 0 }}
    >
      <Stack>
        <Text size="sm">The chosen identifiers and their future events move to a new contact; both contacts are recomputed from their events.</Text>
        <Checkbox.Group label="Identifiers to split off" value={selected} onChange={setSelected}>
          <Stack gap="xs" mt="xs">
            {ids.map((i) => (
              <Checkbox key={`${i.type}:${i.value}`} value={`${i.type}:${i.value}`} label={`${i.type}: ${i.value}`} />
            ))}
          </Stack>
        </Checkbox.Group>
        <Textarea label="Reason" placeholder="shared family laptop" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
        <ErrorAlert error={error} title="Split failed" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button disabled={selected.length === 0} loading={busy} onClick={() => void submit()} data-testid="split-submit">
            Split
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
