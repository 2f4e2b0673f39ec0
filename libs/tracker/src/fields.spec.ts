import { identifyFromFields, isSensitiveField, type FieldInfo } from './fields';

const field = (f: Partial<FieldInfo>): FieldInfo => ({ type: 'text', name: '', id: '', autocomplete: '', identify: '', value: '', ...f });

describe('isSensitiveField', () => {
  it.each([
    [{ type: 'password' }],
    [{ type: 'hidden' }],
    [{ type: 'file' }],
    [{ autocomplete: 'cc-number' }],
    [{ autocomplete: 'billing cc-csc' }],
    [{ autocomplete: 'current-password' }],
    [{ autocomplete: 'one-time-code' }],
    [{ name: 'cardnumber' }],
    [{ name: 'card_number' }],
    [{ id: 'cvv' }],
    [{ name: 'cvc' }],
    [{ name: 'iban' }],
    [{ name: 'ssn' }],
    [{ name: 'user_pass' }],
    [{ name: 'pin' }],
    [{ name: 'api_token' }],
  ])('%j is never read', (f) => {
    expect(isSensitiveField(field(f))).toBe(true);
  });

  it.each([[{ type: 'email', name: 'email' }], [{ name: 'firstName' }], [{ name: 'phone', type: 'tel' }], [{ name: 'company' }], [{ name: 'spinner' }]])(
    '%j may be read',
    (f) => {
      expect(isSensitiveField(field(f))).toBe(false);
    },
  );
});

describe('identifyFromFields', () => {
  it('takes only the marked fields, as traits named by the marking; userId from "userId"', () => {
    expect(
      identifyFromFields([
        field({ name: 'email', type: 'email', identify: 'email', value: '  Ada@Example.COM ' }),
        field({ name: 'first', identify: 'firstName', value: 'Ada' }),
        field({ name: 'account', identify: 'userId', value: 'u-42' }),
        field({ name: 'message', value: 'not marked: never read' }),
        field({ name: 'news', type: 'checkbox', identify: 'newsletter', checked: true }),
        field({ name: 'plan', type: 'radio', identify: 'plan', value: 'basic', checked: false }),
        field({ name: 'plan', type: 'radio', identify: 'plan', value: 'gold', checked: true }),
      ]),
    ).toEqual({ userId: 'u-42', traits: { email: 'ada@example.com', firstName: 'Ada', newsletter: true, plan: 'gold' } });
  });

  it('never reads passwords, card or hidden fields, whatever the marking says, nor card-like values', () => {
    expect(
      identifyFromFields([
        field({ type: 'password', name: 'password', identify: 'password', value: 'secret' }),
        field({ name: 'cardnumber', autocomplete: 'cc-number', identify: 'card', value: '4111111111111111' }),
        field({ type: 'hidden', name: 'csrf', identify: 'csrf', value: 't' }),
        field({ name: 'note', identify: 'note', value: '4111 1111 1111 1111' }),
        field({ name: 'x', identify: '__proto__', value: 'polluted' }),
      ]),
    ).toBeUndefined();
  });

  it('skips empty values and buttons; undefined when nothing is left', () => {
    expect(identifyFromFields([field({ identify: 'email', value: '   ' }), field({ type: 'submit', identify: 'x', value: 'Send' })])).toBeUndefined();
    expect(identifyFromFields([])).toBeUndefined();
  });

  it('shortens long values to 256 code units without splitting an emoji', () => {
    const bio = `${'a'.repeat(255)}\u{1F600}`;
    expect(identifyFromFields([field({ identify: 'bio', value: bio })])).toEqual({ traits: { bio: 'a'.repeat(255) } });
  });
});
