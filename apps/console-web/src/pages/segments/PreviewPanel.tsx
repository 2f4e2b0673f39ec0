import { Anchor, List, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';
import type { CheckState } from './useCheck';

/** The live preview: how many profiles the draft matches and a few of them. */
export function PreviewPanel({ check }: { check: CheckState }) {
  const p = check.preview;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="preview-heading">
      <Stack gap="xs">
        <Title order={2} size="h4" id="preview-heading">
          Preview {check.checking && <Loader size="xs" role="status" aria-label="Updating the preview" />}
        </Title>
        <div aria-live="polite">
          {p ? (
            <Text>
              Matches{' '}
              <Text span fw={700} data-testid="preview-count">
                {Math.round(p.estimated)}
              </Text>{' '}
              profile{Math.round(p.estimated) === 1 ? '' : 's'}
              {p.complete ? '' : ` (estimated: ${p.matched} of the first ${p.scanned} read, ${p.total} stored)`}.
            </Text>
          ) : (
            <Text size="sm" c="dimmed">
              {check.previewError ?? 'Waiting for the definition…'}
            </Text>
          )}
        </div>
        {p && (
          <div data-testid="preview-sample">
            <Text size="sm" fw={600}>
              Sample
            </Text>
            {p.sample.length === 0 ? (
              <Text size="sm" c="dimmed">
                No matching profile.
              </Text>
            ) : (
              <List size="sm">
                {p.sample.map((id) => (
                  <List.Item key={id}>
                    <Anchor component={Link} to={`/contacts/${encodeURIComponent(id)}`}>
                      {id}
                    </Anchor>
                  </List.Item>
                ))}
              </List>
            )}
          </div>
        )}
      </Stack>
    </Paper>
  );
}
