import { Badge, Button, Checkbox, Code, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { svc } from '../../api/client';
import type { DecisionPreview, SlotDecision } from '../../api/activation-types';
import { ErrorAlert } from '../../components/common';
import { resolveProfile } from '../ContactsPage';

/** A slot's html in a sandboxed frame: no scripts, no same-origin access, nothing it can reach in the console. */
function SlotContent({ slot, d }: { slot: string; d: SlotDecision }) {
  if (d.html !== undefined)
    return (
      <iframe
        sandbox=""
        srcDoc={d.html}
        title={`Content of slot ${slot}`}
        style={{ width: '100%', minHeight: 120, border: '1px solid #ced4da' }}
        data-testid="experience-preview-frame"
      />
    );
  if (d.text !== undefined) return <Text size="sm">{d.text}</Text>;
  if (d.json !== undefined)
    return (
      <Code block fz="xs">
        {JSON.stringify(d.json, null, 2)}
      </Code>
    );
  return <Text size="sm">(empty content)</Text>;
}

function PreviewResult({ preview }: { preview: DecisionPreview }) {
  const slots = Object.entries(preview.slots);
  return (
    <Stack gap="sm" data-testid="experience-preview-result" data-profile-id={preview.profileId}>
      <Text size="sm">
        Profile {preview.profileId}; segments: {preview.segments.length > 0 ? preview.segments.join(', ') : 'none'}
      </Text>
      {slots.length === 0 && <Text size="sm">No slot has an enabled experience.</Text>}
      {slots.map(([slot, d]) => (
        <Paper withBorder p="sm" key={slot} data-testid="experience-preview-slot" data-slot={slot} data-rule-id={d.ruleId ?? ''}>
          <Stack gap="xs">
            <Group gap="xs">
              <Text fw={600}>{slot}</Text>
              <Text size="sm">experience {d.experienceId}</Text>
              <Badge variant="light" color={d.ruleId ? 'blue' : 'gray'} data-testid="experience-preview-rule">
                {d.ruleId ? `rule ${d.ruleId}` : 'default content'}
              </Badge>
              {d.holdout && <Badge color="orange">holdout: sees the default</Badge>}
            </Group>
            {d.error && (
              <Text size="sm" c="red.9" role="alert">
                {d.error}
              </Text>
            )}
            <SlotContent slot={slot} d={d} />
          </Stack>
        </Paper>
      ))}
    </Stack>
  );
}

/** "Preview for a contact" (found by email as on the contacts page): what a chosen profile would see, from activation's preview (records nothing). */
export function ExperiencePreview() {
  const [profileId, setProfileId] = useState('');
  const [email, setEmail] = useState('');
  const [skipHoldout, setSkipHoldout] = useState(false);
  const [preview, setPreview] = useState<DecisionPreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const findByEmail = async () => {
    setError(undefined);
    try {
      const found = await resolveProfile('email', email.trim());
      if (!found) throw new Error(`No profile has the email ${email.trim()}`);
      setProfileId(found);
    } catch (err) {
      setError(err);
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setPreview(null);
    try {
      setPreview(await svc<DecisionPreview>('activation', '/v1/experiences/preview', { method: 'POST', body: { profileId: profileId.trim(), skipHoldout } }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="experience-preview-heading">
      <Stack gap="sm">
        <Title order={2} size="h3" id="experience-preview-heading">
          Preview for a contact
        </Title>
        <Group align="flex-end">
          <TextInput
            label="Find the contact by email"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            data-testid="experience-preview-email"
          />
          <Button variant="default" onClick={() => void findByEmail()} disabled={email.trim() === ''} data-testid="experience-preview-find">
            Find
          </Button>
        </Group>
        <form onSubmit={(e) => void submit(e)} aria-label="Preview the experiences for a contact">
          <Group align="flex-end">
            <TextInput
              label="Profile id"
              required
              value={profileId}
              onChange={(e) => setProfileId(e.currentTarget.value)}
              data-testid="experience-preview-profile"
            />
            <Checkbox label="Ignore the holdout" checked={skipHoldout} onChange={(e) => setSkipHoldout(e.currentTarget.checked)} />
            <Button type="submit" loading={busy} disabled={profileId.trim() === ''} data-testid="experience-preview-submit">
              Preview
            </Button>
          </Group>
        </form>
        <ErrorAlert error={error} title="No preview" testId="experience-preview-error" />
        {preview && <PreviewResult preview={preview} />}
      </Stack>
    </Paper>
  );
}
