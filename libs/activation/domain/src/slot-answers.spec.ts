import { decideSlots, enabledSlots, slotAnswers, type Experience } from './experiences';

const experience = (id: string, slot: string, enabled = true): Experience => ({
  id,
  slot,
  name: id,
  enabled,
  holdoutPercent: 0,
  rules: [{ id: 'vip', when: { segments: { any: ['vip'] } }, content: { html: '<b>{{ profile.traits.missing.deeper | upcase }}</b>' } }],
  default: { text: 'hello' },
});

describe('slotAnswers and enabledSlots (the decision answer of /v1/decide and the preview)', () => {
  it('keeps the content, experience, rule and holdout of each slot; errors only when asked', () => {
    const decided = decideSlots([experience('e1', 'banner')], ['banner'], { profileId: 'p', segments: [], traits: {}, computed: {} });
    expect(slotAnswers(decided)).toEqual({ banner: { text: 'hello', experienceId: 'e1', ruleId: null, holdout: false } });
    const failing = { banner: { ...decided['banner']!, error: 'rule vip: boom' } };
    expect(slotAnswers(failing)['banner']).not.toHaveProperty('error');
    expect(slotAnswers(failing, { withErrors: true })['banner']?.error).toBe('rule vip: boom');
  });

  it('lists the slots of enabled experiences once, sorted', () => {
    expect(enabledSlots([experience('a', 'footer'), experience('b', 'banner'), experience('c', 'banner'), experience('d', 'sidebar', false)])).toEqual([
      'banner',
      'footer',
    ]);
  });
});
