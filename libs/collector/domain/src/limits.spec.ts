import { CollectorInputError, joinPath, statusForCode, toInputError } from './errors';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, assertBodySize, checkBodySize, checkContentType, jsonByteLength, utf8ByteLength } from './limits';

describe('limits', () => {
  it('are Segment’s', () => {
    expect(MAX_MESSAGE_BYTES).toBe(32768);
    expect(MAX_BATCH_BYTES).toBe(512000);
  });
});

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['a😀é€', 10],
    ['\uD800', 3], // lone high surrogate
    ['\uD800x', 4],
    ['\uDC00', 3], // lone low surrogate
  ])('%j is %i bytes', (text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
  });

  it('agrees with Buffer.byteLength on well-formed text', () => {
    const text = 'Zoë ☕ 東京 🚀 ' + 'x'.repeat(100);
    expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });
});

describe('jsonByteLength', () => {
  it('measures compact JSON', () => {
    expect(jsonByteLength({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(jsonByteLength(undefined)).toBe(0);
  });
});

describe('checkBodySize / assertBodySize', () => {
  it('accepts bodies up to MAX_BATCH_BYTES on every route', () => {
    expect(checkBodySize(MAX_BATCH_BYTES, 'batch')).toBeUndefined();
    expect(checkBodySize(MAX_BATCH_BYTES, 'track')).toBeUndefined();
    expect(checkBodySize(0, 'identify')).toBeUndefined();
    expect(() => assertBodySize(MAX_BATCH_BYTES, 'batch')).not.toThrow();
  });

  it('answers 413 batch_too_large on /v1/batch', () => {
    const err = checkBodySize(MAX_BATCH_BYTES + 1, 'batch');
    expect(err?.status).toBe(413);
    expect(err?.code).toBe('batch_too_large');
    expect(err?.message).toBe(`batch body is ${MAX_BATCH_BYTES + 1} bytes; the limit is ${MAX_BATCH_BYTES} bytes`);
    expect(() => assertBodySize(MAX_BATCH_BYTES + 1, 'batch')).toThrow(CollectorInputError);
  });

  it('answers 413 message_too_large on single-message routes', () => {
    const err = checkBodySize(MAX_BATCH_BYTES + 1, 'page');
    expect(err?.status).toBe(413);
    expect(err?.code).toBe('message_too_large');
  });
});

describe('checkContentType', () => {
  it.each([
    undefined,
    '',
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON; charset="UTF-8"',
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/vnd.segment+json',
  ])('accepts %j', (value) => {
    expect(checkContentType(value)).toBeUndefined();
  });

  it.each([
    ['application/x-www-form-urlencoded', 'Content-Type application/x-www-form-urlencoded is not supported; send application/json or text/plain'],
    ['multipart/form-data; boundary=x', 'Content-Type multipart/form-data is not supported; send application/json or text/plain'],
    ['text/html', 'Content-Type text/html is not supported; send application/json or text/plain'],
    ['application/json; charset=latin1', 'charset latin1 is not supported; send UTF-8'],
  ])('refuses %j with 415', (value, message) => {
    const err = checkContentType(value);
    expect(err?.status).toBe(415);
    expect(err?.code).toBe('unsupported_media_type');
    expect(err?.message).toBe(message);
  });
});

describe('errors', () => {
  it('maps codes to statuses', () => {
    expect(statusForCode('message_too_large')).toBe(413);
    expect(statusForCode('batch_too_large')).toBe(413);
    expect(statusForCode('unsupported_media_type')).toBe(415);
    expect(statusForCode('required')).toBe(400);
    expect(statusForCode('prototype_pollution')).toBe(400);
  });

  it('converts issues and errors both ways', () => {
    const err = toInputError({ path: 'event', code: 'required', message: 'event must be a non-empty string' });
    expect(err).toBeInstanceOf(CollectorInputError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CollectorInputError');
    expect([err.status, err.code, err.path, err.message]).toEqual([400, 'required', 'event', 'event must be a non-empty string']);
    expect(err.toIssue()).toEqual({ path: 'event', code: 'required', message: 'event must be a non-empty string' });
    expect(err.toJSON()).toEqual({ code: 'required', message: 'event must be a non-empty string', path: 'event' });
    const bare = new CollectorInputError(400, 'empty_body', 'empty');
    expect(bare.toJSON()).toEqual({ code: 'empty_body', message: 'empty' });
    expect(bare.toIssue()).toEqual({ path: '', code: 'empty_body', message: 'empty' });
    expect('path' in bare).toBe(false);
  });

  it('joins JSON paths', () => {
    expect(joinPath('', 'a')).toBe('a');
    expect(joinPath('a', 'b')).toBe('a.b');
    expect(joinPath('a', 0)).toBe('a[0]');
    expect(joinPath('a', 'x.y')).toBe('a["x.y"]');
    expect(joinPath('', 'with space')).toBe('["with space"]');
    expect(joinPath('a', '$set')).toBe('a.$set');
  });
});
