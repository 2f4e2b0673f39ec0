/** Resolves once the browser is idle (at most 2 s later): what is not needed for the first render waits for it. */
export function whenIdle(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    if (typeof requestIdleCallback === 'function') {
      const id = requestIdleCallback(done, { timeout: 2000 });
      signal.addEventListener('abort', () => cancelIdleCallback(id));
    } else setTimeout(done, 200);
  });
}
