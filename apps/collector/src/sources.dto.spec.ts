import 'reflect-metadata';
import { ApiError } from '@mosaic/shared-service';
import { CreateSourceDto, PatchSourceDto, VerifyWriteKeyDto, allowedOrigins, validateSourceBody } from './sources.dto';

const raw = (body: unknown): Buffer => Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));

function refusal(fn: () => unknown): { status: number; code: string; message: string; details: unknown } {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const r = err.getResponse() as { error: { code: string; message: string; details?: unknown } };
    return { status: err.getStatus(), code: r.error.code, message: r.error.message, details: r.error.details };
  }
  throw new Error('not refused');
}

describe('sources admin bodies', () => {
  it('answers the create problems with their codes and messages, emptiness before length', () => {
    const cases: [unknown, string, string][] = [
      [{}, 'invalid_name', 'name: must be a non-empty string'],
      [{ name: 42 }, 'invalid_name', 'name: must be a non-empty string'],
      [{ name: '   ' }, 'invalid_name', 'name: must be a non-empty string'],
      [{ name: ' '.repeat(300) }, 'invalid_name', 'name: must be a non-empty string'],
      [{ name: 'x'.repeat(201) }, 'invalid_name', 'name: must be at most 200 characters'],
      [
        { name: 'ok', allowedOrigins: 'https://a.example' },
        'invalid_allowed_origins',
        'allowedOrigins: must be an array of origins like "https://shop.example.com"',
      ],
      [{ name: 42, allowedOrigins: 'x' }, 'invalid_name', 'name: must be a non-empty string'],
    ];
    for (const [body, code, message] of cases)
      expect([
        refusal(() => validateSourceBody(CreateSourceDto, raw(body))).code,
        refusal(() => validateSourceBody(CreateSourceDto, raw(body))).message,
      ]).toEqual([code, message]);
    const dto = validateSourceBody(CreateSourceDto, raw({ name: ' web ', extra: 1 }));
    expect([dto.name, allowedOrigins(dto.allowedOrigins)]).toEqual([' web ', []]);
  });

  it('answers body problems before field problems', () => {
    expect(refusal(() => validateSourceBody(CreateSourceDto, raw('')))).toMatchObject({ status: 400, code: 'empty_body' });
    expect(refusal(() => validateSourceBody(CreateSourceDto, raw('{"name":')))).toMatchObject({ status: 400, code: 'malformed_json' });
    expect(refusal(() => validateSourceBody(CreateSourceDto, raw([1])))).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: 'the body must be a JSON object',
    });
  });

  it('refuses other fields of a patch first, then an absent or invalid list (with the problems as details)', () => {
    expect(refusal(() => validateSourceBody(PatchSourceDto, raw({ name: 'x', writeKey: 'y', allowedOrigins: 'bad' }), true))).toMatchObject({
      code: 'invalid_request',
      message: 'name, writeKey: cannot be changed (only allowedOrigins)',
    });
    expect(refusal(() => validateSourceBody(PatchSourceDto, raw({}), true))).toMatchObject({
      code: 'invalid_allowed_origins',
      message: 'allowedOrigins: required',
    });
    const bad = refusal(() => validateSourceBody(PatchSourceDto, raw({ allowedOrigins: null }), true));
    expect([bad.code, bad.details]).toEqual(['invalid_allowed_origins', [bad.message]]);
    expect(allowedOrigins(validateSourceBody(PatchSourceDto, raw({ allowedOrigins: [] }), true).allowedOrigins)).toEqual([]);
  });

  it('checks the write key to verify', () => {
    for (const writeKey of [undefined, '', 7, 'k'.repeat(201)]) {
      expect(refusal(() => validateSourceBody(VerifyWriteKeyDto, raw({ writeKey })))).toMatchObject({
        code: 'invalid_write_key',
        message: 'writeKey: must be a non-empty string of at most 200 characters',
      });
    }
    expect(validateSourceBody(VerifyWriteKeyDto, raw({ writeKey: 'wk' })).writeKey).toBe('wk');
  });
});
