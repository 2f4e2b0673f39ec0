import { Button, CloseButton, Group, NativeSelect, Paper, Stack, Text, TextInput } from '@mantine/core';
import type { ConditionJson } from '../../../api/types';
import { NodeErrors } from './NodeErrors';
import { AGGREGATE_FNS, AGGREGATE_OPS, DURATION_UNITS, FILTER_OPERATORS, errorsAt, parseValue, useBoundText } from './tree';
import type { NodeProps } from './ValueConditionEditor';

type Filter = { property?: string; op?: string; value?: unknown };
type Aggregate = { fn: string; property?: string; op: string; value: number };
type Within = { amount: number; unit: string };

interface FilterProps {
  filter: Filter;
  index: number;
  readOnly: boolean;
  onChange(next: Filter): void;
  onRemove(): void;
}

function FilterRow({ filter, index, readOnly, onChange, onRemove }: FilterProps) {
  const op = filter.op ?? 'equals';
  const [text, setText] = useBoundText(filter.value, (t) => parseValue(op, t));
  const set = (property: string, nextOp: string, valueText: string) => {
    const value = parseValue(nextOp, valueText);
    onChange({ property, op: nextOp, ...(value === undefined ? {} : { value }) });
  };
  const n = index + 1;
  return (
    <Group align="flex-end" gap="xs" wrap="wrap">
      <TextInput
        label={`Property ${n}`}
        placeholder="category"
        value={filter.property ?? ''}
        readOnly={readOnly}
        onChange={(e) => set(e.currentTarget.value, op, text)}
        data-testid="event-property-path"
      />
      <NativeSelect
        label={`Operator ${n}`}
        data={FILTER_OPERATORS}
        value={op}
        disabled={readOnly}
        onChange={(e) => set(filter.property ?? '', e.currentTarget.value, text)}
        data-testid="event-property-op"
      />
      {op !== 'exists' && op !== 'notExists' && (
        <TextInput
          label={`Value ${n}`}
          placeholder="coffee-machines"
          value={text}
          readOnly={readOnly}
          onChange={(e) => {
            setText(e.currentTarget.value);
            set(filter.property ?? '', op, e.currentTarget.value);
          }}
          data-testid="event-property-value"
        />
      )}
      {!readOnly && <CloseButton aria-label={`Remove property filter ${n}`} onClick={onRemove} mb={6} />}
    </Group>
  );
}

function AggregateFields({ node, readOnly, onChange }: { node: ConditionJson; readOnly: boolean; onChange(next: ConditionJson): void }) {
  const agg = (node['aggregate'] ?? { fn: 'count', op: 'gte', value: 1 }) as Aggregate;
  const within = (node['within'] ?? { amount: 7, unit: 'days' }) as Within;
  const setAgg = (changes: Partial<Aggregate>) => {
    const next = { ...agg, ...changes };
    if (next.fn === 'count') delete next.property;
    else next.property ??= '';
    onChange({ ...node, aggregate: next });
  };
  const num = (s: string) => (s.trim() === '' ? 0 : Number(s));
  return (
    <Group align="flex-end" gap="xs" wrap="wrap">
      <NativeSelect label="Aggregate" data={[...AGGREGATE_FNS]} value={agg.fn} disabled={readOnly} onChange={(e) => setAgg({ fn: e.currentTarget.value })} />
      {agg.fn !== 'count' && (
        <TextInput
          label="Of property"
          placeholder="total"
          value={agg.property ?? ''}
          readOnly={readOnly}
          onChange={(e) => setAgg({ property: e.currentTarget.value })}
        />
      )}
      <NativeSelect
        label="Is"
        data={AGGREGATE_OPS}
        value={agg.op}
        disabled={readOnly}
        onChange={(e) => setAgg({ op: e.currentTarget.value })}
        data-testid="event-count-op"
      />
      <TextInput
        label={agg.fn === 'count' ? 'Times' : 'Value'}
        type="number"
        value={String(agg.value)}
        readOnly={readOnly}
        onChange={(e) => setAgg({ value: num(e.currentTarget.value) })}
        w={100}
        data-testid="event-count-value"
      />
      <TextInput
        label="Within the last"
        type="number"
        min={1}
        value={String(within.amount)}
        readOnly={readOnly}
        onChange={(e) => onChange({ ...node, within: { ...within, amount: num(e.currentTarget.value) } })}
        w={110}
        data-testid="event-within-days"
      />
      <NativeSelect
        label="Unit"
        data={[...DURATION_UNITS]}
        value={within.unit}
        disabled={readOnly}
        onChange={(e) => onChange({ ...node, within: { ...within, unit: e.currentTarget.value } })}
      />
    </Group>
  );
}

/** `{event, where, aggregate, within}`: e.g. "Product Viewed with category = coffee-machines at least 2 times within 7 days". */
export function EventConditionEditor({ node, path, onChange, onRemove, errors, readOnly }: NodeProps) {
  const where = (Array.isArray(node['where']) ? node['where'] : []) as Filter[];
  const setWhere = (next: Filter[]) => {
    const { where: _w, ...rest } = node;
    onChange(next.length === 0 ? rest : { ...rest, where: next });
  };
  return (
    <Paper withBorder p="sm" data-testid="event-condition" data-path={path}>
      <Stack gap="xs">
        <Group align="flex-end" gap="xs">
          <TextInput
            label="Event name"
            placeholder="Product Viewed"
            value={String(node['event'] ?? '')}
            readOnly={readOnly}
            onChange={(e) => onChange({ ...node, event: e.currentTarget.value })}
            data-testid="event-name"
            style={{ flex: 1 }}
          />
          {onRemove && !readOnly && <CloseButton aria-label={`Remove event condition ${path}`} onClick={onRemove} mb={6} />}
        </Group>
        <Text size="sm" fw={600}>
          With properties
        </Text>
        {where.map((f, i) => (
          <FilterRow
            key={i}
            filter={f}
            index={i}
            readOnly={readOnly}
            onChange={(nf) => setWhere(where.map((x, j) => (j === i ? nf : x)))}
            onRemove={() => setWhere(where.filter((_, j) => j !== i))}
          />
        ))}
        {!readOnly && (
          <Button variant="subtle" size="xs" w="fit-content" onClick={() => setWhere([...where, { property: '', op: 'equals', value: '' }])}>
            Add property filter
          </Button>
        )}
        <AggregateFields node={node} readOnly={readOnly} onChange={onChange} />
        <NodeErrors errors={errorsAt(errors, path)} />
      </Stack>
    </Paper>
  );
}
