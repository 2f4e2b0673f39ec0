// The collector produces without re-validating (its domain is the validator); this property
// guards that: whatever the domain accepts passes the events.raw contract validation.
import fc from 'fast-check';
import { Schemas, validatePayload } from '@mosaic/contracts';
import { processBatch } from './batch';
import { CollectorInputError } from './errors';
import { parseIsoDate } from './time';

const id = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.integer(), fc.constantFrom(' x ', '\t1', '0.5'));
const json = fc.jsonValue({ maxDepth: 3 });
const obj = fc.dictionary(fc.string({ maxLength: 12 }), json, { maxKeys: 6 });
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(' ', '\n', '  Home  '));

const two = (n: number) => String(n).padStart(2, '0');
/**
 * ISO-8601 forms the collector accepts (time.ts) that are not what `toISOString` writes: a
 * lowercase `t` or `z`, a space, no seconds, any fraction with `.` or `,`, an offset as `±hh:mm`,
 * `±hhmm` or `±hh`, no zone (UTC), a bare date. The contract's @IsISO8601 refuses some of them.
 */
const oddDate = fc
  .record({
    at: fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }),
    separator: fc.constantFrom('T', 't', ' '),
    seconds: fc.boolean(),
    fraction: fc.option(fc.tuple(fc.constantFrom('.', ','), fc.stringMatching(/^\d{1,9}$/)), { nil: undefined }),
    zone: fc.constantFrom('Z', 'z', '', '+02:00', '-0530', '+01', '-00:00', '+14:00'),
    dateOnly: fc.boolean(),
  })
  .map(({ at, separator, seconds, fraction, zone, dateOnly }) => {
    const offset = /^[+-]/.test(zone) ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.replace(':', '').slice(3, 5) || 0)) : 0;
    const local = new Date(at.getTime() + offset * 60_000);
    const day = `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}`;
    if (dateOnly) return day;
    const time = `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}${seconds ? `:${two(local.getUTCSeconds())}${fraction ? fraction.join('') : ''}` : ''}`;
    return `${day}${separator}${time}${zone}`;
  });
const date = fc.oneof(
  fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  oddDate,
);

const message = fc.record(
  {
    type: fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias', 'bogus'),
    anonymousId: id,
    userId: id,
    previousId: id,
    groupId: id,
    event: fc.string({ maxLength: 30 }),
    name: text,
    category: text,
    messageId: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.integer()),
    properties: obj,
    traits: obj,
    integrations: obj,
    context: fc.record(
      {
        page: fc.record({ url: fc.webUrl() }),
        ip: fc.ipV4(),
        externalIds: fc.array(fc.record({ id, type: fc.string({ minLength: 1, maxLength: 10 }) }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    timestamp: date,
    originalTimestamp: date,
    sentAt: date,
  },
  { requiredKeys: ['type'] },
);
const envelope = fc.record({ sentAt: date, context: obj, integrations: obj }, { requiredKeys: [] });

it('the odd date forms are ones the collector accepts', () => {
  fc.assert(fc.property(oddDate, (d) => parseIsoDate(d) !== undefined));
});

it('every event the domain accepts is a valid events.raw payload', () => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), envelope, (batch, env) => {
      const opts = {
        sourceId: 'src_1',
        receivedAt: new Date('2030-01-02T00:00:00Z'),
        idGenerator: () => 'generated-id',
        request: { ip: '203.0.113.7', userAgent: 'UA' },
      };
      let result;
      try {
        result = processBatch({ ...env, batch }, opts);
      } catch (err) {
        if (err instanceof CollectorInputError) return; // the whole request refused (e.g. a nested array in the envelope): nothing produced
        throw err;
      }
      for (const e of result.accepted) {
        accepted++;
        expect(() => validatePayload(Schemas.rawEvent, e)).not.toThrow();
      }
    }),
    { numRuns: 300 },
  );
  expect(accepted).toBeGreaterThan(100);
});
