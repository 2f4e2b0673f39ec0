import { CLOSE_GRACE_MS, MAX_OPEN_SLOTS, TIMER_SLOT_MS, TimerSlots, slotOf, timerSlotOf, type FiledTimer } from './timer-slots';

interface Doc extends FiledTimer {
  id: string;
  partition: number;
}

const T0 = Date.parse('2026-12-05T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

/** An in-memory collection answering the two queries the repository sends, recording which slots were asked. */
function store(docs: Doc[]) {
  const asked: Array<number | 'sweep'> = [];
  const query =
    (partitions: number[], now: number) =>
    async (slot: number | undefined, limit: number): Promise<Doc[]> => {
      asked.push(slot ?? 'sweep');
      return docs
        .filter((d) => (slot === undefined || d.timerSlot === slot) && partitions.includes(d.partition) && d.timerAt !== null && d.timerAt.getTime() <= now)
        .sort((a, b) => (a.timerAt as Date).getTime() - (b.timerAt as Date).getTime())
        .slice(0, limit);
    };
  const file = (id: string, partition: number, timerAt: Date | null, writtenAt: Date) => {
    const i = docs.findIndex((d) => d.id === id);
    const doc = { id, partition, timerAt, timerSlot: timerSlotOf(timerAt, writtenAt) };
    if (i >= 0) docs[i] = doc;
    else docs.push(doc);
  };
  return { docs, asked, query, file };
}

describe('timer slots', () => {
  it('files a timer under its minute, and a timer already past under the minute of the write', () => {
    expect(timerSlotOf(at(90_000), at(0))).toBe(slotOf(T0) + 1);
    expect(timerSlotOf(at(-3_600_000), at(125_000))).toBe(slotOf(T0) + 2);
    expect(timerSlotOf(null, at(0))).toBeNull();
  });

  it('sweeps once, then asks only the open minutes, and closes a minute after its grace', async () => {
    const s = store([]);
    const slots = new TimerSlots();
    const due = (now: number, partitions = [0, 1]) => slots.due(partitions, now, 100, s.query(partitions, now));
    s.file('p1', 0, at(30_000), at(0));
    let now = T0 + 10_000;
    expect(await due(now)).toEqual([]);
    expect(s.asked).toEqual(['sweep']);
    s.asked.length = 0;
    now = T0 + 31_000;
    expect((await due(now)).map((d) => d.id)).toEqual(['p1']);
    expect(s.asked.every((a) => a !== 'sweep')).toBe(true);
    s.file('p1', 0, at(3_600_000), at(31_000)); // fired: next timer in an hour
    // Minutes before now minus the grace close once empty: the open ones stay few.
    for (now = T0 + 31_000; now < T0 + 10 * TIMER_SLOT_MS; now += 1_000) {
      s.asked.length = 0;
      await due(now);
      expect(s.asked.length).toBeLessThanOrEqual(Math.ceil(CLOSE_GRACE_MS / TIMER_SLOT_MS) + 2);
    }
    expect(slots.sweeps).toBe(1);
  });

  it('finds a timer written in the last moment of a minute the rounds have moved past', async () => {
    const s = store([]);
    const slots = new TimerSlots();
    const due = (now: number) => slots.due([0], now, 100, s.query([0], now));
    await due(T0); // the sweep
    await due(T0 + TIMER_SLOT_MS + 1); // minute 0 has ended but is inside its grace
    s.file('late', 0, at(TIMER_SLOT_MS - 1), at(TIMER_SLOT_MS - 1)); // filed under minute 0, landing only now
    expect((await due(T0 + TIMER_SLOT_MS + 2_000)).map((d) => d.id)).toEqual(['late']);
  });

  it('keeps a minute open while it holds a due timer that did not fire', async () => {
    const s = store([]);
    const slots = new TimerSlots();
    const due = (now: number) => slots.due([0], now, 100, s.query([0], now));
    s.file('stuck', 0, at(5_000), at(0));
    await due(T0);
    for (let now = T0 + 6_000; now < T0 + 20 * TIMER_SLOT_MS; now += 30_000) expect((await due(now)).map((d) => d.id)).toEqual(['stuck']);
    expect(slots.sweeps).toBe(1);
  });

  it('keeps in view a timer the sweep found long overdue that then did not fire', async () => {
    const s = store([]);
    const slots = new TimerSlots();
    const due = (now: number) => slots.due([0], now, 100, s.query([0], now));
    s.file('overdue', 0, at(-3_600_000), at(-3_600_000)); // filed an hour ago (the instance was down)
    expect((await due(T0)).map((d) => d.id)).toEqual(['overdue']);
    expect((await due(T0 + 1_000)).map((d) => d.id)).toEqual(['overdue']);
    expect(slots.sweeps).toBe(1);
  });

  it('sweeps again when the partitions change, when the rounds stood still, and until a sweep sees everything', async () => {
    const s = store([]);
    const slots = new TimerSlots();
    const due = (now: number, partitions: number[], limit = 100) => slots.due(partitions, now, limit, s.query(partitions, now));
    s.file('other', 1, at(1_000), at(0)); // a partition this instance did not own when it was written
    await due(T0 + 2_000, [0]);
    expect(slots.sweeps).toBe(1);
    expect((await due(T0 + 3_000, [0, 1])).map((d) => d.id)).toEqual(['other']);
    expect(slots.sweeps).toBe(2);
    await due(T0 + 4_000 + (MAX_OPEN_SLOTS + 2) * TIMER_SLOT_MS, [0, 1]);
    expect(slots.sweeps).toBe(3);
    for (let i = 0; i < 5; i += 1) s.file(`many-${i}`, 0, at(i), at(0));
    const now = T0 + 5_000 + (MAX_OPEN_SLOTS + 2) * TIMER_SLOT_MS;
    await due(now, [0], 3); // a full page: more may be due
    await due(now, [0], 3);
    expect(slots.sweeps).toBe(5);
  });
});
