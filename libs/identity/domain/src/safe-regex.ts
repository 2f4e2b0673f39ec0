/**
 * Admin-supplied regular expressions (blocked-value patterns) are compiled only if they
 * pass these checks, because a pattern is evaluated for every identifier of every event:
 *
 * - at most MAX_PATTERN_LENGTH characters;
 * - it compiles with flags `iu` (case-insensitive; `u` makes stray escapes errors);
 * - no back-references (`\1`, `\k<name>`): they defeat every linear-time argument;
 * - no repeated group (`(...)*`, `(...)+`, `(...){n,}`) whose body contains a quantifier or
 *   an alternation: the classic exponential-backtracking shapes `(a+)+`, `(a|a)*`, `(a*b?)*`.
 *
 * This is a conservative heuristic, not a proof: it rejects some harmless patterns
 * (`(foo|bar)+`) and bounds the rest by the input length — values are at most 512
 * characters (MAX_IDENTIFIER_VALUE_LENGTH), so polynomial patterns stay cheap.
 */

export const MAX_PATTERN_LENGTH = 200;

export type PatternCheck = { ok: true; regex: RegExp } | { ok: false; reason: string };

interface GroupFrame {
  hasQuantifier: boolean;
  hasAlternation: boolean;
}

export function compileSafePattern(pattern: string): PatternCheck {
  if (pattern.length === 0) return { ok: false, reason: 'pattern is empty' };
  if (pattern.length > MAX_PATTERN_LENGTH) return { ok: false, reason: `pattern is longer than ${MAX_PATTERN_LENGTH} characters` };
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'iu');
  } catch (error) {
    return { ok: false, reason: `pattern does not compile: ${(error as Error).message}` };
  }
  const unsafe = findUnsafeConstruct(pattern);
  if (unsafe !== undefined) return { ok: false, reason: unsafe };
  return { ok: true, regex };
}

/** Returns why `pattern` (already known to compile) is unsafe, or undefined. */
function findUnsafeConstruct(pattern: string): string | undefined {
  const stack: GroupFrame[] = [{ hasQuantifier: false, hasAlternation: false }];
  let i = 0;
  const top = (): GroupFrame => stack[stack.length - 1] as GroupFrame;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'back-references are not allowed';
      i = atomEnd(pattern, i + 2, top());
      continue;
    }
    if (ch === '[') {
      i = atomEnd(pattern, skipClass(pattern, i), top());
      continue;
    }
    if (ch === '(') {
      stack.push({ hasQuantifier: false, hasAlternation: false });
      i += 1;
      // Skip a group prefix: (?: (?= (?! (?<= (?<! (?<name>
      if (pattern[i] === '?') {
        i += 1;
        if (pattern[i] === '<' && pattern[i + 1] !== '=' && pattern[i + 1] !== '!') {
          const end = pattern.indexOf('>', i);
          i = end < 0 ? pattern.length : end + 1;
        } else {
          i += pattern[i] === '<' ? 2 : 1;
        }
      }
      continue;
    }
    if (ch === '|') {
      top().hasAlternation = true;
      i += 1;
      continue;
    }
    if (ch === ')') {
      const group = stack.pop() as GroupFrame;
      i += 1;
      const quantifier = readQuantifier(pattern, i);
      if (quantifier !== undefined) {
        if (quantifier.unbounded && (group.hasQuantifier || group.hasAlternation)) {
          return 'a repeated group may not contain quantifiers or alternatives (catastrophic backtracking)';
        }
        i = quantifier.end;
        top().hasQuantifier = true;
      }
      if (group.hasQuantifier) top().hasQuantifier = true;
      if (group.hasAlternation) top().hasAlternation = true;
      continue;
    }
    i = atomEnd(pattern, i + 1, top());
  }
  return undefined;
}

/** After an atom ending at `i`: skips its quantifier, if any, and notes it on the group. */
function atomEnd(pattern: string, i: number, group: GroupFrame): number {
  const quantifier = readQuantifier(pattern, i);
  if (quantifier === undefined) return i;
  group.hasQuantifier = true;
  return quantifier.end;
}

function skipClass(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1;
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** A quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each optionally lazy). */
function readQuantifier(pattern: string, i: number): { end: number; unbounded: boolean } | undefined {
  const ch = pattern[i];
  let end: number;
  let unbounded: boolean;
  if (ch === '*' || ch === '+') {
    end = i + 1;
    unbounded = true;
  } else if (ch === '?') {
    end = i + 1;
    unbounded = false;
  } else if (ch === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (match === null) return undefined;
    end = i + match[0].length;
    const max = match[3];
    unbounded = match[2] !== undefined && (max === undefined || max === '' || Number(max) > 10);
  } else {
    return undefined;
  }
  if (pattern[end] === '?') end += 1;
  return { end, unbounded };
}
