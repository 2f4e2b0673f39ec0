import { CloseButton, Group, NativeSelect, Stack, TextInput } from '@mantine/core';
import type { ConditionJson } from '../../../api/types';
import { NodeErrors } from './NodeErrors';
import { OPERATORS, errorsAt, parseValue, useBoundText, type PathError } from './tree';

export interface NodeProps {
  node: ConditionJson;
  path: string;
  onChange(next: ConditionJson): void;
  onRemove?: () => void;
  errors: PathError[];
  readOnly: boolean;
}

/** `{trait|attribute, op, value}`: a trait or a computed attribute compared with a value. */
export function ValueConditionEditor({ node, path, onChange, onRemove, errors, readOnly }: NodeProps) {
  const subject = 'trait' in node ? 'trait' : 'attribute';
  const op = String(node['op'] ?? 'equals');
  const [valueText, setValueText] = useBoundText(node['value'], (t) => parseValue(op, t));
  const noValue = op === 'exists' || op === 'notExists';

  const update = (changes: Partial<{ subject: string; name: string; op: string; value: string }>) => {
    const nextSubject = changes.subject ?? subject;
    const name = changes.name ?? String(node[subject] ?? '');
    const nextOp = changes.op ?? op;
    const text = changes.value ?? valueText;
    const value = parseValue(nextOp, text);
    onChange({ [nextSubject]: name, op: nextOp, ...(value === undefined ? {} : { value }) });
  };

  return (
    <Stack gap={4} data-testid="value-condition" data-path={path}>
      <Group align="flex-end" gap="xs" wrap="wrap">
        <NativeSelect
          label="Of"
          data={[
            { value: 'attribute', label: 'Computed attribute' },
            { value: 'trait', label: 'Trait' },
          ]}
          value={subject}
          disabled={readOnly}
          onChange={(e) => update({ subject: e.currentTarget.value })}
          data-testid="value-subject"
        />
        <TextInput
          label={subject === 'trait' ? 'Trait name' : 'Attribute path'}
          placeholder={subject === 'trait' ? 'plan' : 'orders.lifetimeValue'}
          value={String(node[subject] ?? '')}
          readOnly={readOnly}
          onChange={(e) => update({ name: e.currentTarget.value })}
          data-testid="value-path"
        />
        <NativeSelect
          label="Operator"
          data={[...OPERATORS]}
          value={op}
          disabled={readOnly}
          onChange={(e) => update({ op: e.currentTarget.value })}
          data-testid="value-op"
        />
        {!noValue && (
          <TextInput
            label="Value"
            description={op === 'in' || op === 'notIn' || op === 'between' ? 'comma-separated' : undefined}
            value={valueText}
            readOnly={readOnly}
            onChange={(e) => {
              setValueText(e.currentTarget.value);
              update({ value: e.currentTarget.value });
            }}
            data-testid="value-value"
          />
        )}
        {onRemove && !readOnly && <CloseButton aria-label={`Remove condition ${path}`} onClick={onRemove} mb={6} />}
      </Group>
      <NodeErrors errors={errorsAt(errors, path)} />
    </Stack>
  );
}
