// The collector produces without re-validating (its domain is the validator); this property
// guards that: whatever the domain accepts passes the events.raw contract validation.
import fc from 'fast-check';
import { Schemas, validatePayload } from '@mosaic/contracts';
import { processBatch } from './batch';

const id = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.integer());
const json = fc.jsonValue({ maxDepth: 3 });
const obj = fc.dictionary(fc.string({ maxLength: 12 }), json, { maxKeys: 6 });
const date = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
const message = fc.record(
  {
    type: fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias', 'bogus'),
    anonymousId: id,
    userId: id,
    previousId: id,
    groupId: id,
    event: fc.string({ maxLength: 30 }),
    name: fc.string({ maxLength: 30 }),
    messageId: fc.string({ minLength: 1, maxLength: 40 }),
    properties: obj,
    traits: obj,
    context: fc.record(
      {
        page: fc.record({ url: fc.webUrl() }),
        ip: fc.ipV4(),
        externalIds: fc.array(fc.record({ id, type: fc.string({ minLength: 1, maxLength: 10 }) }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    timestamp: date,
    sentAt: date,
  },
  { requiredKeys: ['type'] },
);

it('every event the domain accepts is a valid events.raw payload', () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.option(date, { nil: undefined }), (batch, sentAt) => {
      const result = processBatch({ batch, sentAt }, { sourceId: 'src_1', receivedAt: new Date('2026-01-01T00:00:00Z'), idGenerator: () => 'generated-id' });
      for (const e of result.accepted) {
        accepted++;
        expect(() => validatePayload(Schemas.rawEvent, e)).not.toThrow();
      }
    }),
    { numRuns: 300 },
  );
  expect(accepted).toBeGreaterThan(100);
});
