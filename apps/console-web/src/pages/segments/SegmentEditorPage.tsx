import { Alert, Badge, Button, Grid, Group, List, Paper, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router-dom';
import { ApiError, seg, svc } from '../../api/client';
import type { Segment, SegmentDefinitionJson } from '../../api/types';
import { canEdit, useUser } from '../../app/session';
import { ErrorAlert, LoadingLine, useAsync } from '../../components/common';
import { RootEditor } from './builder/ConditionEditor';
import { NodeErrors } from './builder/NodeErrors';
import { errorsAt, newDefinition, type PathError } from './builder/tree';
import { BackfillPanel, SegmentActions, VersionsPanel } from './HistoryPanel';
import { JsonPanel } from './JsonPanel';
import { PreviewPanel } from './PreviewPanel';
import { SizeChartPanel } from './SizeChartPanel';
import { useCheck } from './useCheck';

/** `/segments/new` and `/segments/:key`. */
export function SegmentEditorPage() {
  const { key } = useParams();
  const res = useAsync((signal) => (key ? svc<Segment>('segmentation', `/v1/segments/${seg(key)}`, { signal }) : Promise.resolve(null)), [key]);
  const { reload } = res;
  const running = res.data?.backfill?.status === 'running';
  useEffect(() => {
    if (!running) return undefined;
    const t = setInterval(reload, 2000);
    return () => clearInterval(t);
  }, [running, reload]);

  if (key && !res.data) {
    return (
      <Stack>
        <Title order={1}>Segment {key}</Title>
        {res.loading && <LoadingLine />}
        <ErrorAlert error={res.error} />
      </Stack>
    );
  }
  return <SegmentEditor key={key ?? '(new)'} segment={res.data ?? null} onSaved={reload} />;
}

function ValidationSummary({ errors }: { errors: PathError[] }) {
  if (errors.length === 0) return null;
  return (
    <Alert color="red" title={`${errors.length} problem${errors.length === 1 ? '' : 's'} in the definition`} data-testid="validation-errors">
      <List size="sm">
        {errors.map((e) => (
          <List.Item key={`${e.path}:${e.message}`}>
            {e.path ? `${e.path}: ` : ''}
            {e.message}
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}

function useSave(segment: Segment | null, definition: SegmentDefinitionJson, onSaved: () => void) {
  const navigate = useNavigate();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [saved, setSaved] = useState<string | null>((useLocation().state as { saved?: string } | null)?.saved ?? null);
  // The version this edit started from (not the one polling last saw): a concurrent change is a 409, not overwritten.
  const [baseVersion, setBaseVersion] = useState(segment?.version);
  const body = JSON.stringify(definition);
  useEffect(() => setError(null), [body]); // an edit makes the last save's errors stale
  const save = async () => {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      if (segment) {
        const r = await svc<Segment>('segmentation', `/v1/segments/${seg(segment.key)}?expectedVersion=${baseVersion ?? segment.version}`, {
          method: 'PUT',
          body: definition,
        });
        setBaseVersion(r.version);
        setSaved(`Saved version ${r.version}. Its backfill has started.`);
        onSaved();
      } else {
        const r = await svc<Segment>('segmentation', '/v1/segments', { method: 'POST', body: definition });
        navigate(`/segments/${encodeURIComponent(r.key)}`, {
          replace: true,
          state: { saved: `Created ${r.key} (version ${r.version}). Its backfill has started.` },
        });
      }
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setSaving(false);
    }
  };
  return { save, saving, error, saved, setBaseVersion };
}

interface FieldsProps {
  definition: SegmentDefinitionJson;
  setField(name: 'key' | 'name' | 'description', v: string): void;
  readOnly: boolean;
  keyLocked: boolean;
  errors: PathError[];
}

function DefinitionFields({ definition, setField, readOnly, keyLocked, errors }: FieldsProps) {
  return (
    <Paper withBorder p="md">
      <Group align="flex-start" grow>
        <TextInput
          label="Key"
          description="letters, digits, _ . : -"
          value={definition.key}
          readOnly={readOnly || keyLocked}
          onChange={(e) => setField('key', e.currentTarget.value)}
          data-testid="segment-key"
        />
        <TextInput
          label="Name"
          value={definition.name ?? ''}
          readOnly={readOnly}
          onChange={(e) => setField('name', e.currentTarget.value)}
          data-testid="segment-name"
        />
      </Group>
      <Textarea
        label="Description"
        mt="sm"
        autosize
        value={definition.description ?? ''}
        readOnly={readOnly}
        onChange={(e) => setField('description', e.currentTarget.value)}
      />
      <NodeErrors errors={errors.filter((e) => !e.path.startsWith('condition'))} />
    </Paper>
  );
}

function SegmentEditor({ segment, onSaved }: { segment: Segment | null; onSaved: () => void }) {
  const user = useUser();
  const readOnly = !canEdit(user.role);
  const [definition, setDefinition] = useState<SegmentDefinitionJson>(() => segment?.definition ?? newDefinition());
  const check = useCheck(definition, segment?.key);
  const { save, saving, error, saved, setBaseVersion } = useSave(segment, definition, onSaved);
  const saveErrors = error instanceof ApiError ? error.details : [];
  const errors = check.errors.length > 0 ? check.errors : saveErrors;
  const setField = (name: 'key' | 'name' | 'description', v: string) => {
    const next = { ...definition, [name]: v };
    if (v === '' && name !== 'key') delete next[name];
    setDefinition(next);
  };

  return (
    <Stack>
      <Group>
        <Title order={1}>{segment ? `Segment ${segment.key}` : 'New segment'}</Title>
        {segment && (
          <Badge variant="dot" color={segment.status === 'active' ? 'green' : 'gray'}>
            {segment.status} · v{segment.version} · {segment.size} profiles
          </Badge>
        )}
        {readOnly && <Text size="sm">Read-only: your role is {user.role}.</Text>}
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, lg: 8 }}>
          <Stack>
            <DefinitionFields definition={definition} setField={setField} readOnly={readOnly} keyLocked={!!segment} errors={errors} />
            <RootEditor
              node={definition.condition}
              path="condition"
              errors={errorsAt(errors, 'condition').concat(errors.filter((e) => e.path === 'condition'))}
              readOnly={readOnly}
              onChange={(c) => setDefinition({ ...definition, condition: c })}
            />
            <ValidationSummary errors={errors} />
            {!readOnly && (
              <Group>
                <Button onClick={() => void save()} loading={saving} data-testid="segment-save">
                  {segment ? 'Save a new version' : 'Create segment'}
                </Button>
                {check.errors.length === 0 && !check.checking && <Text size="sm">The definition is valid.</Text>}
              </Group>
            )}
            {saved && (
              <Alert color="green" role="status" data-testid="segment-saved">
                {saved}
              </Alert>
            )}
            {error && <ErrorAlert error={error} title="Not saved" testId="save-error" />}
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Stack>
            <PreviewPanel check={check} />
            <JsonPanel definition={definition} onChange={setDefinition} readOnly={readOnly} />
            {segment && !readOnly && (
              <SegmentActions
                segment={segment}
                onChanged={(v) => {
                  if (v !== undefined) setBaseVersion(v);
                  onSaved();
                }}
              />
            )}
            {segment && <SizeChartPanel segmentKey={segment.key} />}
            {segment && <BackfillPanel segment={segment} />}
            {segment && <VersionsPanel segmentKey={segment.key} version={segment.version} />}
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
