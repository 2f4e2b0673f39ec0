import { useEffect, useState } from 'react';
import { ApiError, svc } from '../../api/client';
import type { PreviewResponse, SegmentDefinitionJson, ValidationResponse } from '../../api/types';
import type { PathError } from './builder/tree';

export interface CheckState {
  checking: boolean;
  errors: PathError[];
  preview: PreviewResponse | null;
  previewError: string | null;
}

const DEBOUNCE_MS = 500;
/** A stand-in key so a draft without one can still be previewed. */
const DRAFT_KEY = 'console-preview-draft';

/**
 * Debounced validation (`POST /v1/segments/validate`, errors by JSON path) and live preview
 * (`POST /v1/segments/preview`: count and sample) of the definition being edited. Both are
 * allowed for viewers.
 */
export function useCheck(definition: SegmentDefinitionJson, existingKey?: string): CheckState {
  const [state, setState] = useState<CheckState>({ checking: false, errors: [], preview: null, previewError: null });
  const body = JSON.stringify(definition);

  useEffect(() => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      setState((s) => ({ ...s, checking: true }));
      void run(JSON.parse(body) as SegmentDefinitionJson, ctrl.signal, existingKey).then((next) => {
        if (!ctrl.signal.aborted) setState({ ...next, checking: false });
      });
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [body, existingKey]);

  return state;
}

async function run(definition: SegmentDefinitionJson, signal: AbortSignal, existingKey?: string): Promise<Omit<CheckState, 'checking'>> {
  let errors: PathError[] = [];
  try {
    const v = await svc<ValidationResponse>('segmentation', '/v1/segments/validate', { method: 'POST', body: definition, signal });
    errors = v.ok ? [] : (v.errors ?? []);
    if (existingKey !== undefined && definition.key !== existingKey) errors.push({ path: 'key', message: `must stay ${existingKey}` });
  } catch (err) {
    if (signal.aborted) return { errors, preview: null, previewError: null };
    errors = err instanceof ApiError && err.details.length > 0 ? err.details : [{ path: '', message: err instanceof Error ? err.message : String(err) }];
  }
  // A draft is previewed even before it has a key; any other error stops the preview.
  const blocking = errors.filter((e) => e.path !== 'key' && !e.path.startsWith('key'));
  if (blocking.length > 0) return { errors, preview: null, previewError: 'Fix the errors to see a preview.' };
  try {
    const draft = definition.key ? definition : { ...definition, key: DRAFT_KEY };
    const preview = await svc<PreviewResponse>('segmentation', '/v1/segments/preview?sample=10', { method: 'POST', body: draft, signal });
    return { errors, preview, previewError: null };
  } catch (err) {
    return { errors, preview: null, previewError: err instanceof Error ? err.message : String(err) };
  }
}
