import { createLogger } from './logger';

function capture(): { lines: Record<string, unknown>[]; destination: { write(s: string): void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } };
}

describe('createLogger', () => {
  it('logs lines with fields when no span is active (the trace mixin must not hand pino a shared or frozen object)', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'test', instanceId: 'i-1', destination });
    logger.info({ topics: 3 }, 'first');
    logger.info({ other: true }, 'second');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ service: 'test', instance: 'i-1', topics: 3, msg: 'first' });
    // The first line's fields do not leak into the next one.
    expect(lines[1]).not.toHaveProperty('topics');
    expect(lines[1]).toMatchObject({ other: true, msg: 'second' });
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});
