import { Button, CloseButton, Group, JsonInput, NativeSelect, Paper, Stack, Text } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import type { ConditionJson } from '../../../api/types';
import { describeCondition } from '../describe';
import { EventConditionEditor } from './EventConditionEditor';
import { NodeErrors } from './NodeErrors';
import { errorsAt, newEventCondition, newGroup, newValueCondition, nodeKind } from './tree';
import { ValueConditionEditor, type NodeProps } from './ValueConditionEditor';

/** Kinds the builder has no form for (sequence, elements, segment, cluster): edited as JSON in place. */
function RawConditionEditor({ node, path, onChange, onRemove, errors, readOnly }: NodeProps) {
  const [text, setText] = useState(() => JSON.stringify(node, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <Paper withBorder p="sm" data-path={path}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Text size="sm">{describeCondition(node)}</Text>
          {onRemove && !readOnly && <CloseButton aria-label={`Remove condition ${path}`} onClick={onRemove} />}
        </Group>
        <JsonInput
          label={`Condition ${path} (JSON)`}
          value={text}
          readOnly={readOnly}
          autosize
          minRows={3}
          error={bad ? 'not valid JSON' : undefined}
          onChange={(t) => {
            setText(t);
            try {
              const parsed = JSON.parse(t) as unknown;
              setBad(false);
              if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) onChange(parsed as ConditionJson);
            } catch {
              setBad(true);
            }
          }}
        />
        <NodeErrors errors={errorsAt(errors, path)} />
      </Stack>
    </Paper>
  );
}

function NotEditor(props: NodeProps) {
  const { node, path, onChange, onRemove, readOnly } = props;
  return (
    <Paper withBorder p="sm" data-path={path}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Text size="sm" fw={700}>
            NOT
          </Text>
          {onRemove && !readOnly && <CloseButton aria-label={`Remove condition ${path}`} onClick={onRemove} />}
        </Group>
        <ConditionEditor {...props} node={node['not'] as ConditionJson} path={`${path}.not`} onChange={(c) => onChange({ not: c })} onRemove={undefined} />
      </Stack>
    </Paper>
  );
}

/**
 * Keyboard use: a condition added with a button gets the focus (its first field), instead of it
 * staying on the button below the new condition, which the user would have to tab back to.
 */
function useFocusAdded() {
  const box = useRef<HTMLDivElement>(null);
  const pending = useRef<string | null>(null);
  useEffect(() => {
    const want = pending.current;
    const added = want === null ? null : box.current?.querySelector(`[data-path="${want}"]`);
    if (!added) return;
    pending.current = null;
    added.querySelector<HTMLElement>('input:not([type="hidden"]), select, textarea')?.focus();
  });
  const expect = (childPath: string): void => {
    pending.current = childPath;
  };
  return { box, expect };
}

interface GroupProps extends NodeProps {
  root?: boolean;
}

function GroupEditor({ node, path, onChange, onRemove, errors, readOnly, root }: GroupProps) {
  const kind = nodeKind(node) === 'any' ? 'any' : 'all';
  const children = (node[kind] as ConditionJson[]) ?? [];
  const set = (k: string, list: ConditionJson[]) => onChange({ [k]: list });
  const focusAdded = useFocusAdded();
  const add = (c: ConditionJson) => {
    focusAdded.expect(`${path}.${kind}[${children.length}]`);
    set(kind, [...children, c]);
  };
  return (
    <Paper ref={focusAdded.box} withBorder p="sm" bg={root ? undefined : 'gray.0'} data-testid="condition-group" data-path={path}>
      <Stack gap="sm">
        <Group justify="space-between" align="flex-end">
          <NativeSelect
            label={root ? 'Profiles match' : 'Group: match'}
            data={[
              { value: 'all', label: 'all of these conditions' },
              { value: 'any', label: 'any of these conditions' },
            ]}
            value={kind}
            disabled={readOnly}
            onChange={(e) => set(e.currentTarget.value, children)}
            data-testid={root ? 'builder-root-combinator' : undefined}
          />
          {onRemove && !readOnly && <CloseButton aria-label={`Remove group ${path}`} onClick={onRemove} />}
        </Group>
        {children.length === 0 && (
          <Text size="sm" c="dimmed">
            No conditions yet.
          </Text>
        )}
        {children.map((c, i) => (
          <ConditionEditor
            key={i}
            node={c}
            path={`${path}.${kind}[${i}]`}
            errors={errors}
            readOnly={readOnly}
            onChange={(nc) =>
              set(
                kind,
                children.map((x, j) => (j === i ? nc : x)),
              )
            }
            onRemove={() =>
              set(
                kind,
                children.filter((_, j) => j !== i),
              )
            }
          />
        ))}
        <NodeErrors errors={errorsAt(errors, path, true)} />
        {!readOnly && (
          <Group gap="xs">
            <Button variant="light" size="xs" onClick={() => add(newValueCondition())} data-testid={root ? 'builder-add-attribute-condition' : undefined}>
              Add attribute or trait condition
            </Button>
            <Button variant="light" size="xs" onClick={() => add(newEventCondition())} data-testid={root ? 'builder-add-event-condition' : undefined}>
              Add event condition
            </Button>
            <Button variant="light" size="xs" onClick={() => add(newGroup(kind === 'all' ? 'any' : 'all'))}>
              Add group
            </Button>
            <Button variant="subtle" size="xs" onClick={() => add({ not: newValueCondition() })}>
              Add NOT condition
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

/** One condition of the definition, by kind. */
export function ConditionEditor(props: NodeProps) {
  switch (nodeKind(props.node)) {
    case 'all':
    case 'any':
      return <GroupEditor {...props} />;
    case 'not':
      return <NotEditor {...props} />;
    case 'trait':
    case 'attribute':
      return <ValueConditionEditor {...props} />;
    case 'event':
      return <EventConditionEditor {...props} />;
    default:
      return <RawConditionEditor {...props} />;
  }
}

/** The root: always shown as a group; a root that is a single condition is wrapped in `all` when something is added. */
export function RootEditor(props: NodeProps) {
  const kind = nodeKind(props.node);
  if (kind === 'all' || kind === 'any') return <GroupEditor {...props} root />;
  return (
    <GroupEditor
      {...props}
      root
      node={{ all: [props.node] }}
      path="condition"
      errors={props.errors.map((e) => (e.path.startsWith('condition') ? { ...e, path: e.path.replace(/^condition/, 'condition.all[0]') } : e))}
      onChange={(next) => {
        const list = (next['all'] ?? next['any']) as ConditionJson[];
        props.onChange(list.length === 1 && 'all' in next ? (list[0] as ConditionJson) : next);
      }}
    />
  );
}
