/**
 * Locating the first syntax error of a JSON text (RFC 8259) for the 400 answer's message.
 * Only used on the failure path: V8's own messages do not always carry a position and may
 * echo (large, user-controlled) parts of the body.
 */

export interface JsonSyntaxError {
  /** 0-based offset (UTF-16 code units) of the first character that makes the text invalid. */
  position: number;
  reason: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

type State = 'value' | 'valueOrEnd' | 'afterValue' | 'keyOrEnd' | 'key' | 'colon';

/** The scanner's position, what it expects next and the containers open around it. */
interface Scan {
  readonly text: string;
  i: number;
  state: State;
  readonly containers: ('array' | 'object')[];
}

/** A step either moves the scan on (undefined) or stops at an error. */
type Step = JsonSyntaxError | undefined;

const fail = (scan: Scan, reason: string, position = scan.i): JsonSyntaxError => ({ position, reason });

/** The end (exclusive) of the string starting at `scan.i`, or the error inside it. */
function scanString(scan: Scan): number | JsonSyntaxError {
  const { text } = scan;
  let j = scan.i + 1;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === 34) return j + 1; // "
    if (c === 92) {
      const e = text[j + 1];
      if (e === undefined) break;
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return fail(scan, 'invalid \\u escape in string', j);
        j += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return fail(scan, `invalid escape \\${e} in string`, j);
      j += 2;
      continue;
    }
    if (c < 0x20) return fail(scan, 'unescaped control character in string', j);
    j++;
  }
  return fail(scan, 'unterminated string', scan.i);
}

function open(scan: Scan, container: 'array' | 'object', next: State): Step {
  scan.containers.push(container);
  scan.i++;
  scan.state = next;
  return undefined;
}

function close(scan: Scan): Step {
  scan.containers.pop();
  scan.i++;
  scan.state = 'afterValue';
  return undefined;
}

function stringThen(scan: Scan, next: State): Step {
  const end = scanString(scan);
  if (typeof end !== 'number') return end;
  scan.i = end;
  scan.state = next;
  return undefined;
}

function numberValue(scan: Scan): Step {
  NUMBER.lastIndex = scan.i;
  const m = NUMBER.exec(scan.text);
  if (!m) return fail(scan, 'invalid number');
  scan.i += m[0].length;
  const next = scan.text[scan.i];
  if (next !== undefined && /[\d.eE+-]/.test(next)) return fail(scan, 'invalid number');
  scan.state = 'afterValue';
  return undefined;
}

function literalValue(scan: Scan): Step {
  const literal = ['true', 'false', 'null'].find((word) => scan.text.startsWith(word, scan.i));
  if (!literal) return fail(scan, 'expected a value');
  scan.i += literal.length;
  scan.state = 'afterValue';
  return undefined;
}

function expectValue(scan: Scan, ch: string): Step {
  if (scan.state === 'valueOrEnd' && ch === ']') return close(scan);
  if (ch === '{') return open(scan, 'object', 'keyOrEnd');
  if (ch === '[') return open(scan, 'array', 'valueOrEnd');
  if (ch === '"') return stringThen(scan, 'afterValue');
  if (ch === '-' || (ch >= '0' && ch <= '9')) return numberValue(scan);
  return literalValue(scan);
}

function expectKey(scan: Scan, ch: string): Step {
  if (scan.state === 'keyOrEnd' && ch === '}') return close(scan);
  if (ch === '"') return stringThen(scan, 'colon');
  return fail(scan, scan.state === 'keyOrEnd' ? `expected a property name in double quotes or '}'` : 'expected a property name in double quotes');
}

function expectColon(scan: Scan, ch: string): Step {
  if (ch !== ':') return fail(scan, `expected ':' after property name`);
  scan.i++;
  scan.state = 'value';
  return undefined;
}

function afterValue(scan: Scan, ch: string): Step {
  const top = scan.containers[scan.containers.length - 1];
  if (ch === ',') {
    scan.i++;
    scan.state = top === 'object' ? 'key' : 'value';
    return undefined;
  }
  if ((top === 'object' && ch === '}') || (top === 'array' && ch === ']')) {
    scan.containers.pop();
    scan.i++;
    return undefined;
  }
  return fail(scan, top === 'object' ? `expected ',' or '}'` : `expected ',' or ']'`);
}

function step(scan: Scan, ch: string): Step {
  switch (scan.state) {
    case 'value':
    case 'valueOrEnd':
      return expectValue(scan, ch);
    case 'keyOrEnd':
    case 'key':
      return expectKey(scan, ch);
    case 'colon':
      return expectColon(scan, ch);
    case 'afterValue':
      return afterValue(scan, ch);
  }
}

function skipWhitespace(scan: Scan): void {
  const { text } = scan;
  while (scan.i < text.length && (text[scan.i] === ' ' || text[scan.i] === '\t' || text[scan.i] === '\n' || text[scan.i] === '\r')) scan.i++;
}

/** Locates the first JSON syntax error in `text` (RFC 8259), or `undefined` if it is valid. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const scan: Scan = { text, i: 0, state: 'value', containers: [] };
  while (true) {
    skipWhitespace(scan);
    if (scan.state === 'afterValue' && scan.containers.length === 0) {
      return scan.i < text.length ? fail(scan, 'unexpected data after the JSON value') : undefined;
    }
    if (scan.i >= text.length) return fail(scan, 'unexpected end of input');
    const error = step(scan, text[scan.i] as string);
    if (error) return error;
  }
}
