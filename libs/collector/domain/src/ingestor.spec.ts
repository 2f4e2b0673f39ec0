import { DedupWindow } from './dedup';
import { Ingestor, type EventPublisher } from './ingestor';
import type { NormalizedEvent } from './message';

function ev(messageId: string, sourceId = 'src_1'): NormalizedEvent {
  return {
    type: 'track',
    messageId,
    anonymousId: 'a',
    event: 'E',
    properties: {},
    traits: {},
    context: {},
    timestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    sourceId,
  };
}

class FakePublisher implements EventPublisher {
  published: string[] = [];
  failNext = 0;
  gate?: Promise<void>;
  async publish(events: readonly NormalizedEvent[]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('kafka down');
    }
    this.published.push(...events.map((e) => e.messageId));
  }
}

const window = () => new DedupWindow({ windowMs: 60_000, maxEntries: 1000, clock: () => 0 });

describe('Ingestor', () => {
  it('publishes new events and drops repeats acknowledged before', async () => {
    const pub = new FakePublisher();
    const ing = new Ingestor(pub, window());
    expect(await ing.ingest([ev('m1'), ev('m2')])).toEqual({ published: 2, duplicates: 0 });
    expect(await ing.ingest([ev('m1'), ev('m3')])).toEqual({ published: 1, duplicates: 1 });
    expect(pub.published).toEqual(['m1', 'm2', 'm3']);
  });

  it('treats the same messageId from another source as a different message', async () => {
    const pub = new FakePublisher();
    const ing = new Ingestor(pub, window());
    await ing.ingest([ev('m1', 's1')]);
    expect(await ing.ingest([ev('m1', 's2')])).toEqual({ published: 1, duplicates: 0 });
  });

  it('drops a repeat inside one request', async () => {
    const pub = new FakePublisher();
    expect(await new Ingestor(pub, window()).ingest([ev('m1'), ev('m1')])).toEqual({ published: 1, duplicates: 1 });
    expect(pub.published).toEqual(['m1']);
  });

  it('does not remember events whose publication failed, so the retry goes through', async () => {
    const pub = new FakePublisher();
    const ing = new Ingestor(pub, window());
    pub.failNext = 1;
    await expect(ing.ingest([ev('m1')])).rejects.toThrow('kafka down');
    expect(await ing.ingest([ev('m1')])).toEqual({ published: 1, duplicates: 0 });
    expect(pub.published).toEqual(['m1']);
  });

  it('lets a concurrent duplicate wait for the first attempt and follow its outcome', async () => {
    const pub = new FakePublisher();
    const ing = new Ingestor(pub, window());
    let open!: () => void;
    pub.gate = new Promise((r) => (open = r));
    const first = ing.ingest([ev('m1')]);
    const second = ing.ingest([ev('m1')]);
    open();
    expect(await first).toEqual({ published: 1, duplicates: 0 });
    expect(await second).toEqual({ published: 0, duplicates: 1 });
    expect(pub.published).toEqual(['m1']);
  });

  it('re-publishes a concurrent duplicate when the first attempt failed', async () => {
    const pub = new FakePublisher();
    const ing = new Ingestor(pub, window());
    let open!: () => void;
    pub.gate = new Promise((r) => (open = r));
    pub.failNext = 1;
    const first = ing.ingest([ev('m1')]);
    const second = ing.ingest([ev('m1')]);
    open();
    await expect(first).rejects.toThrow('kafka down');
    expect(await second).toEqual({ published: 1, duplicates: 0 });
    expect(pub.published).toEqual(['m1']);
  });
});
