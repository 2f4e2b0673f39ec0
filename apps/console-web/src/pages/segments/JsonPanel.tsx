import { JsonInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { SegmentDefinitionJson } from '../../api/types';

/** The definition as JSON, kept in sync with the builder both ways (editable for editors). */
export function JsonPanel({
  definition,
  onChange,
  readOnly,
}: {
  definition: SegmentDefinitionJson;
  onChange(d: SegmentDefinitionJson): void;
  readOnly: boolean;
}) {
  const formatted = JSON.stringify(definition, null, 2);
  const [text, setText] = useState(formatted);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // Take the builder's changes unless the text already says the same (the user is typing it).
    setText((current) => {
      try {
        return JSON.stringify(JSON.parse(current)) === JSON.stringify(JSON.parse(formatted)) ? current : formatted;
      } catch {
        return current;
      }
    });
  }, [formatted]);

  const onText = (t: string) => {
    setText(t);
    try {
      const parsed = JSON.parse(t) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the definition must be a JSON object');
      const d = parsed as SegmentDefinitionJson;
      if (!d.condition || typeof d.condition !== 'object') throw new Error('the definition needs a "condition" object');
      setError(null);
      onChange(d);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <JsonInput
      label="Definition (JSON)"
      description={readOnly ? 'read-only' : 'edit here or in the builder: both stay in sync'}
      value={text}
      onChange={onText}
      readOnly={readOnly}
      error={error}
      autosize
      minRows={10}
      maxRows={40}
      data-testid="segment-json"
      styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12 } }}
    />
  );
}
