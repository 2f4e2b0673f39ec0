import { Button, CopyButton, Group, Paper, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import { useSession } from '../../app/session';
import { defaultCollectorUrl, trackerSnippet } from './snippet';

/** A copyable tracker snippet for a write key (the one just created, or one pasted in). */
export function SnippetPanel({ writeKey }: { writeKey: string }) {
  const [key, setKey] = useState(writeKey);
  const { settings } = useSession();
  const [host, setHost] = useState(() => defaultCollectorUrl(settings?.collectorPublicUrl));
  const snippet = trackerSnippet(host, key.trim() === '' ? 'YOUR_WRITE_KEY' : key.trim());
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="snippet-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="snippet-heading">
          Tracker snippet
        </Title>
        <Text size="sm">Paste it into every page of the site, before other scripts that call mosaic. The collector serves the script at /mosaic.js.</Text>
        <Group grow align="flex-start">
          <TextInput label="Write key" value={key} onChange={(e) => setKey(e.currentTarget.value)} data-testid="snippet-write-key" />
          <TextInput label="Collector URL (public)" value={host} onChange={(e) => setHost(e.currentTarget.value)} />
        </Group>
        <Textarea
          label="Snippet"
          value={snippet}
          readOnly
          autosize
          minRows={3}
          data-testid="tracker-snippet"
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12 } }}
        />
        <CopyButton value={snippet}>
          {({ copied, copy }) => (
            <Button size="xs" variant="default" onClick={copy} w="fit-content">
              {copied ? 'Copied' : 'Copy snippet'}
            </Button>
          )}
        </CopyButton>
      </Stack>
    </Paper>
  );
}
