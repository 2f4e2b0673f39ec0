import { Code, Table, Text } from '@mantine/core';
import { formatTime } from './common';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const MAX_ROWS = 20;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Splits camelCase names into words: `lifetimeValue` → `lifetime value`. */
export function humanize(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_.]/g, ' ');
}

function Scalar({ value }: { value: unknown }) {
  if (value === null || value === undefined)
    return (
      <Text span c="dimmed">
        —
      </Text>
    );
  if (typeof value === 'string' && ISO_DATE.test(value)) return <time dateTime={value}>{formatTime(value)}</time>;
  if (typeof value === 'number') return <>{Number.isInteger(value) ? value : value.toFixed(3)}</>;
  return <>{String(value)}</>;
}

/** A list of objects as a table with the union of their keys as columns. */
function ObjectList({ items, label }: { items: Record<string, unknown>[]; label: string }) {
  const columns = [...new Set(items.flatMap((i) => Object.keys(i)))].slice(0, 8);
  return (
    <Table withTableBorder striped fz="xs" aria-label={label}>
      <Table.Thead>
        <Table.Tr>
          {columns.map((c) => (
            <Table.Th key={c}>{humanize(c)}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {items.slice(0, MAX_ROWS).map((item, i) => (
          <Table.Tr key={i}>
            {columns.map((c) => (
              <Table.Td key={c}>
                {isPlainObject(item[c]) || Array.isArray(item[c]) ? <Code>{JSON.stringify(item[c])}</Code> : <Scalar value={item[c]} />}
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Any JSON value, rendered generically: scalars, nested objects as tables, lists of objects as tables. */
export function ValueView({ value, label }: { value: unknown; label: string }) {
  if (Array.isArray(value)) {
    if (value.length === 0)
      return (
        <Text span c="dimmed">
          none
        </Text>
      );
    if (value.every(isPlainObject)) return <ObjectList items={value} label={label} />;
    return <>{value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')}</>;
  }
  if (isPlainObject(value)) return <KeyValueTable data={value} label={label} />;
  return <Scalar value={value} />;
}

/** Keys and values of an object as a two-column table. */
export function KeyValueTable({ data, label, testId, rawKeys }: { data: Record<string, unknown>; label: string; testId?: string; rawKeys?: boolean }) {
  const entries = Object.entries(data);
  if (entries.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid={testId}>
        None.
      </Text>
    );
  }
  return (
    <Table withTableBorder fz="sm" aria-label={label} data-testid={testId} layout="fixed">
      <Table.Tbody>
        {entries.map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th w="30%" scope="row">
              {rawKeys ? k : humanize(k)}
            </Table.Th>
            <Table.Td style={{ overflowWrap: 'anywhere' }}>
              <ValueView value={v} label={`${label}: ${k}`} />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
