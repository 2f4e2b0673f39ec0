// A backfill's progress as the API shows it: the fraction, the rate so far and the time left at it.
import { progressOf, type BackfillDocument } from './backfills.repository';

const started = new Date('2026-12-05T12:00:00Z');

function job(over: Partial<BackfillDocument>): BackfillDocument {
  return {
    _id: 'seg',
    version: 1,
    runId: 'r',
    status: 'running',
    total: 10_000,
    processed: 0,
    changed: 0,
    published: 0,
    lastId: null,
    startedAt: started,
    updatedAt: started,
    finishedAt: null,
    holder: 'i',
    leaseUntil: started,
    error: null,
    ...over,
  };
}

it('estimates the time left from the rate so far', () => {
  const p = progressOf(job({ processed: 2500 }), started.getTime() + 10_000); // 250/s, 7,500 left
  expect(p).toMatchObject({ fraction: 0.25, ratePerSecond: 250, etaSeconds: 30 });
});

it('says nothing is left when done, and no estimate before the first page or after a failure', () => {
  expect(progressOf(job({ status: 'done', processed: 10_000, finishedAt: new Date(started.getTime() + 40_000) })).etaSeconds).toBe(0);
  expect(progressOf(job({ processed: 0 }), started.getTime() + 5000).etaSeconds).toBeNull();
  expect(progressOf(job({ status: 'failed', processed: 10, error: 'x' }), started.getTime() + 5000).etaSeconds).toBeNull();
});

it('never estimates less than nothing when more profiles were processed than counted at the start', () => {
  expect(progressOf(job({ processed: 12_000 }), started.getTime() + 10_000).etaSeconds).toBe(0);
});
