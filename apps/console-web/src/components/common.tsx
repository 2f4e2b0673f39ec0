import { Alert, Loader, Text } from '@mantine/core';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api/client';

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Runs `load` when `deps` change; `reload()` runs it again. `loading` is true from the very render
 * in which the inputs change (not only once the effect has run), so a page never shows the
 * previous inputs' rows as if they were the answer to the new ones; `data` keeps the previous
 * answer meanwhile, for pages that dim it instead of hiding it.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [settled, setSettled] = useState<{ run: unknown; tick: number } | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const run = useCallback(load, deps);

  useEffect(() => {
    const ctrl = new AbortController();
    setError(undefined);
    run(ctrl.signal)
      .then((d) => {
        if (!ctrl.signal.aborted) setData(d);
      })
      .catch((err: unknown) => {
        if (!ctrl.signal.aborted) setError(err);
      })
      .finally(() => {
        if (!ctrl.signal.aborted) setSettled({ run, tick });
      });
    return () => ctrl.abort();
  }, [run, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const loading = settled?.run !== run || settled.tick !== tick;
  return { data, error: loading ? undefined : error, loading, reload };
}

export function ErrorAlert({ error, title = 'Something went wrong', testId }: { error: unknown; title?: string; testId?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <Alert color="red" title={title} role="alert" data-testid={testId}>
      {errorMessage(error)}
    </Alert>
  );
}

export function LoadingLine({ label = 'Loading' }: { label?: string }) {
  return (
    <Text size="sm" c="dimmed" role="status">
      <Loader size="xs" mr="xs" aria-hidden="true" />
      {label}…
    </Text>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
