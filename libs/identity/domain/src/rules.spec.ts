import { compileSafePattern, MAX_PATTERN_LENGTH } from './safe-regex';
import { compileRules, DEFAULT_IDENTITY_RULES, identityRules, IdentityRulesError, parseIdentityRules, validateIdentityRules } from './rules';

describe('default rules', () => {
  it('have the documented limits and priorities', () => {
    const compiled = compileRules(DEFAULT_IDENTITY_RULES);
    expect(['userId', 'email', 'phone', 'external:crm_id', 'anonymousId'].map((t) => [compiled.ruleFor(t).limit, compiled.ruleFor(t).priority])).toEqual([
      [1, 1],
      [5, 2],
      [5, 3],
      [5, 4],
      [100, 5],
    ]);
  });

  it('are frozen, and parsing returns an independent copy', () => {
    expect(Object.isFrozen(DEFAULT_IDENTITY_RULES.types)).toBe(true);
    const parsed = identityRules();
    parsed.types['email']!.limit = 9;
    expect(DEFAULT_IDENTITY_RULES.types['email']!.limit).toBe(5);
  });
});

describe('parseIdentityRules', () => {
  it('merges a partial document over the defaults, field by field', () => {
    const rules = identityRules({ types: { email: { limit: 3 }, 'external:crm_id': { limit: 1 } } });
    expect(rules.types['email']).toEqual({ limit: 3, priority: 2 });
    // New external types take missing fields from external:*.
    expect(rules.types['external:crm_id']).toEqual({ limit: 1, priority: 4 });
    expect(rules.types['userId']).toEqual({ limit: 1, priority: 1 });
    expect(compileRules(rules).ruleFor('external:pos').limit).toBe(5);
    expect(compileRules(rules).ruleFor('external:crm_id').limit).toBe(1);
  });

  it('uses a changed external:* for the external types not named', () => {
    const rules = identityRules({ types: { 'external:*': { limit: 2, priority: 3 }, 'external:pos': { limit: 7 } } });
    expect(compileRules(rules).ruleFor('external:other')).toMatchObject({ limit: 2, priority: 3 });
    expect(rules.types['external:pos']).toEqual({ limit: 7, priority: 3 });
  });

  it('replaces arrays it is given (an installation whose user ids are 0 can unblock it)', () => {
    const rules = identityRules({ blocked: { values: ['anonymous'] } });
    expect(rules.blocked.values).toEqual(['anonymous']);
    expect(rules.blocked.patterns).toEqual([]);
    expect(compileRules(rules).blockedReason('userId', '0')).toBeUndefined();
  });

  it('returns every error with its path', () => {
    const result = parseIdentityRules({
      types: {
        email: { limit: 0, priority: 'high', colour: 'red' },
        userId: 'one',
        twitter: { limit: 1 },
        'external:Bad Name': { limit: 1 },
        phone: { blocked: { values: [1], patterns: ['(a+)+$', '['], extra: true } },
      },
      blocked: { patterns: 'x' },
      emailEvents: ['Email Opened', ''],
      redirectTtlMs: 5,
      pendingClaimTtlMs: 1.5,
      surprise: 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path)).toEqual([
      'surprise',
      'types.email.colour',
      'types.email.limit',
      'types.email.priority',
      'types.userId',
      'types.twitter',
      'types.external:Bad Name',
      'types.phone.blocked.extra',
      'types.phone.blocked.values[0]',
      'types.phone.blocked.patterns[0]',
      'types.phone.blocked.patterns[1]',
      'blocked.patterns',
      'emailEvents[1]',
      'redirectTtlMs',
      'pendingClaimTtlMs',
    ]);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e.message]));
    expect(byPath['types.email.limit']).toBe('must be between 1 and 10000');
    expect(byPath['types.phone.blocked.patterns[0]']).toContain('catastrophic backtracking');
    expect(byPath['types.phone.blocked.patterns[1]']).toContain('does not compile');
  });

  it('rejects a non-object', () => {
    expect(parseIdentityRules([1])).toEqual({ ok: false, errors: [{ path: '', message: 'rules must be an object' }] });
    expect(parseIdentityRules(null)).toEqual({ ok: true, rules: identityRules() });
  });

  it('validateIdentityRules accepts a complete valid object and the helpers throw with errors', () => {
    expect(validateIdentityRules(DEFAULT_IDENTITY_RULES)).toEqual([]);
    expect(validateIdentityRules({ types: { email: { limit: -1 } } })).toEqual([{ path: 'types.email.limit', message: 'must be between 1 and 10000' }]);
    expect(() => identityRules({ blocked: { patterns: ['(x*)*'] } })).toThrow(IdentityRulesError);
    // compileRules guards rules that were built in code without parsing.
    expect(() => compileRules({ ...identityRules(), blocked: { values: [], patterns: ['(a|a)*'] } })).toThrow(/blocked.patterns\[0\]/);
  });

  it('caps the number of patterns', () => {
    const result = parseIdentityRules({ blocked: { patterns: Array.from({ length: 51 }, (_, i) => `x${i}`) } });
    expect(result.ok).toBe(false);
  });
});

describe('compileSafePattern', () => {
  it.each(['^test-', 'example\\.com$', '^[0-9a-f]{32}$', '^(?:foo|bar)$', '^(ab){2}$', '^a+b*$', '[(]+', '^\\(x\\)+$', '^(?<name>x)$', '^(a+){1,3}$'])(
    'accepts %j',
    (pattern) => {
      expect(compileSafePattern(pattern).ok).toBe(true);
    },
  );

  it.each([
    ['(a+)+', 'catastrophic'],
    ['(a*)*b', 'catastrophic'],
    ['(a|a)*', 'catastrophic'],
    ['((ab)*c)+', 'catastrophic'],
    ['(a+){2,}', 'catastrophic'],
    ['(\\d+\\.?)+$', 'catastrophic'],
    ['(a)\\1', 'back-references'],
    ['(?<n>a)\\k<n>', 'back-references'],
    ['[', 'does not compile'],
    ['', 'empty'],
    ['a'.repeat(MAX_PATTERN_LENGTH + 1), 'longer than'],
  ])('refuses %j (%s)', (pattern, reason) => {
    const result = compileSafePattern(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('compiles case-insensitively', () => {
    const result = compileSafePattern('^guest-');
    expect(result.ok && result.regex.test('GUEST-1')).toBe(true);
  });
});

describe('identifier types named like Object.prototype members', () => {
  it('have no rule of their own and are refused by the rules document', () => {
    const compiled = compileRules(DEFAULT_IDENTITY_RULES);
    for (const type of ['toString', 'valueOf', 'hasOwnProperty', 'constructor']) {
      expect(() => compiled.ruleFor(type)).toThrow(IdentityRulesError);
      expect(compiled.blockedReason(type, 'someone')).toBeUndefined();
      expect(parseIdentityRules({ types: { [type]: { limit: 2 } } }).ok).toBe(false);
    }
    expect(compiled.ruleFor('external:tostring')).toMatchObject({ type: 'external:tostring' });
  });
});
