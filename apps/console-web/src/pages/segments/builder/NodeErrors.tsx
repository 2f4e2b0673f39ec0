import { List, Text } from '@mantine/core';
import type { PathError } from './tree';

/** The validation errors of one condition, next to it. */
export function NodeErrors({ errors }: { errors: PathError[] }) {
  if (errors.length === 0) return null;
  return (
    <List size="sm" c="red.9" data-testid="condition-errors" aria-live="polite">
      {errors.map((e) => (
        <List.Item key={`${e.path}:${e.message}`}>
          <Text span fw={600} size="sm">
            {e.path}
          </Text>
          : {e.message}
        </List.Item>
      ))}
    </List>
  );
}
