import { correctTimestamp, parseIsoDate } from './time';

const ms = (iso: string): number => Date.parse(iso);

describe('parseIsoDate', () => {
  it.each([
    ['2024-05-01T12:00:00.000Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01t12:00:00z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01 12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T14:30:00+02:00', '2024-05-01T12:30:00.000Z'],
    ['2024-05-01T14:30:00+0200', '2024-05-01T12:30:00.000Z'],
    ['2024-05-01T08:30:00-04', '2024-05-01T12:30:00.000Z'],
    ['2024-05-01T12:00:00.123456789Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00.5Z', '2024-05-01T12:00:00.500Z'],
    ['2024-05-01T12:00:00,25Z', '2024-05-01T12:00:00.250Z'],
    ['2024-05-01T12:00:00', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000Z'],
  ])('%s → %s', (input, expected) => {
    const value = parseIsoDate(input);
    expect(value).toBeDefined();
    expect(new Date(value as number).toISOString()).toBe(expected);
  });

  it.each([
    'yesterday',
    '',
    '2024-13-01',
    '2024-00-10',
    '2024-04-31',
    '2023-02-29',
    '1900-02-29',
    '2024-05-01T24:00:00Z',
    '2024-05-01T12:60:00Z',
    '2024-05-01T12:00:60Z',
    '2024-05-01T12:00:00+24:00',
    '2024-5-1',
    '24-05-01',
    '2024-05-01T12',
    '2024-05-01T12:00:00 Z',
    'Wed, 01 May 2024 12:00:00 GMT',
    '2024-05-01T12:00:00.Z',
  ])('rejects %j', (input) => {
    expect(parseIsoDate(input)).toBeUndefined();
  });

  it.each([1714564800000, null, undefined, {}, new Date()])('rejects non-strings (%j)', (input) => {
    expect(parseIsoDate(input)).toBeUndefined();
  });
});

describe('correctTimestamp', () => {
  const receivedAt = ms('2024-05-01T12:00:00.000Z');

  it('uses receivedAt when the client sent no timestamp', () => {
    expect(correctTimestamp({ receivedAt })).toBe(receivedAt);
    expect(correctTimestamp({ receivedAt, sentAt: ms('2024-05-01T11:00:00Z') })).toBe(receivedAt);
  });

  it('removes a client clock that runs 1 hour late', () => {
    // Client clock is 1 h behind: the event happened 5 s before sending.
    const timestamp = ms('2024-05-01T10:59:55.000Z');
    const sentAt = ms('2024-05-01T11:00:00.000Z');
    expect(new Date(correctTimestamp({ timestamp, sentAt, receivedAt })).toISOString()).toBe('2024-05-01T11:59:55.000Z');
  });

  it('removes a client clock that runs 10 minutes early', () => {
    const timestamp = ms('2024-05-01T12:09:30.000Z');
    const sentAt = ms('2024-05-01T12:10:00.000Z');
    expect(new Date(correctTimestamp({ timestamp, sentAt, receivedAt })).toISOString()).toBe('2024-05-01T11:59:30.000Z');
  });

  it('keeps an event queued offline for days (old but corrected)', () => {
    const timestamp = ms('2024-04-28T09:00:00.000Z');
    const sentAt = ms('2024-05-01T12:00:02.000Z'); // client 2 s fast
    expect(new Date(correctTimestamp({ timestamp, sentAt, receivedAt })).toISOString()).toBe('2024-04-28T08:59:58.000Z');
  });

  it('keeps the timestamp as is without sentAt', () => {
    const timestamp = ms('2020-01-01T00:00:00.000Z');
    expect(correctTimestamp({ timestamp, receivedAt })).toBe(timestamp);
  });

  it('corrects from originalTimestamp when there is no timestamp', () => {
    const originalTimestamp = ms('2024-05-01T10:59:55.000Z');
    const sentAt = ms('2024-05-01T11:00:00.000Z');
    expect(correctTimestamp({ originalTimestamp, sentAt, receivedAt })).toBe(ms('2024-05-01T11:59:55.000Z'));
    expect(correctTimestamp({ originalTimestamp, receivedAt })).toBe(originalTimestamp);
  });

  it('prefers timestamp over originalTimestamp', () => {
    const timestamp = ms('2024-05-01T11:59:00.000Z');
    const originalTimestamp = ms('2024-05-01T11:00:00.000Z');
    expect(correctTimestamp({ timestamp, originalTimestamp, receivedAt })).toBe(timestamp);
  });

  it('clamps a timestamp after sentAt to receivedAt', () => {
    const timestamp = ms('2024-05-01T12:05:00.000Z');
    const sentAt = ms('2024-05-01T12:00:00.000Z');
    expect(correctTimestamp({ timestamp, sentAt, receivedAt })).toBe(receivedAt);
  });

  it('clamps a future timestamp without sentAt to receivedAt', () => {
    expect(correctTimestamp({ timestamp: ms('2030-01-01T00:00:00Z'), receivedAt })).toBe(receivedAt);
  });

  it('keeps a timestamp equal to sentAt at receivedAt exactly', () => {
    const t = ms('2024-05-01T09:00:00.000Z');
    expect(correctTimestamp({ timestamp: t, sentAt: t, receivedAt })).toBe(receivedAt);
  });
});
