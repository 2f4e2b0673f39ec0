// The split request's DTO answers exactly what the hand validator it replaced answered: the
// same paths (unknown fields first, then the entries, then the reason) and messages.
import 'reflect-metadata';
import type { ApiError } from '@mosaic/shared-service';
import { toIdentifier } from './identifier.dto';
import { SplitRequestDto } from './profiles.dto';
import { validateBody } from './validate-body';

function errorsOf(body: unknown): { status: number; message: string; details: unknown } {
  try {
    validateBody(SplitRequestDto, body, 'invalid split request', 'body must be a JSON object {identifiers: [{type, value}], reason?}');
  } catch (err) {
    const { error } = (err as ApiError).getResponse() as { error: { status: number; message: string; details: unknown } };
    return error;
  }
  throw new Error('expected a validation error');
}

describe('SplitRequestDto', () => {
  it('accepts a valid request and normalises its identifiers', () => {
    const dto = validateBody(
      SplitRequestDto,
      { identifiers: [{ type: 'email', value: ' Ada@Example.COM ', extra: 1 }], reason: 'tablet' },
      'invalid split request',
      'x',
    );
    expect(dto.identifiers.map(toIdentifier)).toEqual([{ type: 'email', value: 'ada@example.com' }]);
    expect(dto.reason).toBe('tablet');
    expect(validateBody(SplitRequestDto, { identifiers: [{ type: 'userId', value: 'u' }] }, 'w', 'x').reason).toBeUndefined();
  });

  it('names unknown fields, then each bad entry (its type when the type is unknown), then the reason', () => {
    const e = errorsOf({
      identifiers: [{ type: 'cookie', value: 'x' }, { type: 'email', value: 'nope' }, 5, { value: 'v' }, { type: 'userId', value: '  ' }],
      extra: 1,
      reason: ' ',
    });
    expect(e.status).toBe(400);
    expect(e.details).toEqual([
      { path: 'extra', message: 'unknown field' },
      { path: 'identifiers[0].type', message: 'unknown identifier type (userId, email, phone, anonymousId, external:<name>)' },
      { path: 'identifiers[1]', message: expect.stringMatching(/exactly one @/) },
      { path: 'identifiers[2]', message: 'unknown identifier type (userId, email, phone, anonymousId, external:<name>)' },
      { path: 'identifiers[3]', message: 'unknown identifier type (userId, email, phone, anonymousId, external:<name>)' },
      { path: 'identifiers[4]', message: 'must be a non-empty string' },
      { path: 'reason', message: 'must be a non-empty string of at most 1000 characters' },
    ]);
    expect(e.message).toMatch(/^invalid split request: extra: unknown field; identifiers\[0\]\.type: unknown identifier type/);
  });

  it('asks for at least one and at most 1000 identifiers; the body must be an object', () => {
    for (const identifiers of [undefined, [], 'x']) {
      expect(errorsOf({ identifiers }).details).toEqual([{ path: 'identifiers', message: 'name at least one identifier to split off ([{type, value}])' }]);
    }
    expect(errorsOf({ identifiers: Array.from({ length: 1001 }, () => ({ type: 'userId', value: 'u' })) }).details).toEqual([
      { path: 'identifiers', message: 'at most 1000 identifiers' },
    ]);
    expect(errorsOf({ identifiers: [{ type: 'userId', value: 'u' }], reason: 'r'.repeat(1001) }).details).toEqual([
      { path: 'reason', message: 'must be a non-empty string of at most 1000 characters' },
    ]);
    expect(errorsOf({ identifiers: [{ type: 'userId', value: 'u' }], reason: 7 }).details).toEqual([
      { path: 'reason', message: 'must be a non-empty string of at most 1000 characters' },
    ]);
    expect(errorsOf([1, 2])).toMatchObject({ message: 'invalid split request: (body): body must be a JSON object {identifiers: [{type, value}], reason?}' });
  });
});
