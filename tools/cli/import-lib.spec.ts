// The pure parts of `mosaic import`: CSV parsing (RFC 4180), column mapping, chunking.
import { ChunkBuilder, CsvParser, coerce, compileHeader, describeRejection, parseCsv, rowToMessage } from './import-lib';

describe('CsvParser', () => {
  it('parses quoted fields with delimiters, doubled quotes and line breaks, with start lines', () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"multi\r\nline\nvalue",z\n3,,\n';
    expect(parseCsv(text)).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['1', 'x, y', 'say "hi"'], line: 2 },
      { fields: ['2', 'multi\r\nline\nvalue', 'z'], line: 3 },
      { fields: ['3', '', ''], line: 6 },
    ]);
  });

  it('gives the same records whatever the chunk boundaries (CRLF and "" split across chunks)', () => {
    const text = '\uFEFFid,note\r\n1,"a ""quoted"" word"\r\n2,"line\r\nbreak"\r3,last';
    const whole = parseCsv(text);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 3, 5]);
    expect(whole[0]!.fields).toEqual(['id', 'note']); // BOM dropped
    for (let size = 1; size <= 7; size++) {
      const p = new CsvParser();
      const records = [];
      for (let i = 0; i < text.length; i += size) records.push(...p.push(text.slice(i, i + size)));
      records.push(...p.end());
      expect(records).toEqual(whole);
    }
  });

  it('skips blank lines, keeps a last line without a line break, and handles other delimiters', () => {
    expect(parseCsv('a;b\n\n\r\n1;2', { delimiter: ';' })).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 4 },
    ]);
    expect(parseCsv('a\tb\n1\t"2\t3"', { delimiter: '\t' })[1]!.fields).toEqual(['1', '2\t3']);
    expect(() => new CsvParser({ delimiter: '"' })).toThrow();
  });

  it('reports malformed quoting on the record (and keeps going)', () => {
    const records = parseCsv('a,b\n"x"y,1\nok,2\n"open,3\nmore');
    expect(records[1]).toMatchObject({ line: 2, error: expect.stringMatching(/after a closing quote/) });
    expect(records[2]).toEqual({ fields: ['ok', '2'], line: 3 });
    expect(records[3]).toMatchObject({ line: 4, error: expect.stringMatching(/unterminated/) });
    // a quote inside an unquoted field is data
    expect(parseCsv('a\n5" screen')[1]!.fields).toEqual(['5" screen']);
  });
});

describe('compileHeader and rowToMessage', () => {
  const header = [
    'type',
    'userId',
    'email',
    'event',
    'timestamp',
    'properties.revenue',
    'properties.product.sku',
    'traits.plan',
    'context.externalIds.pos_id',
    'order_id',
    'zip:string',
    'Total',
    'ignored',
  ];
  const { columns, problems } = compileHeader(header, { Total: 'properties.total:number', ignored: '-' });

  it('maps columns by the conventions', () => {
    expect(problems).toEqual([]);
    const row = ['track', 'u-1', 'Ada@Example.com', 'Order Completed', '2024-03-01T10:00:00Z', '42.50', 'CM-900', 'gold', 'P-77', '00123', '01234', '1e3', 'x'];
    expect(rowToMessage(columns, row)).toEqual({
      message: {
        type: 'track',
        userId: 'u-1',
        event: 'Order Completed',
        timestamp: '2024-03-01T10:00:00Z',
        properties: { revenue: 42.5, product: { sku: 'CM-900' }, order_id: '00123', zip: '01234', total: 1000 },
        traits: { plan: 'gold' },
        context: { traits: { email: 'Ada@Example.com' }, externalIds: [{ id: 'P-77', type: 'pos_id', collection: 'users', encoding: 'none' }] },
      },
    });
  });

  it('puts email and unknown columns into traits on identify rows; leaves empty cells out', () => {
    const row = ['identify', 'u-2', 'b@example.com', '', '', '', '', '', '', '7', '', '', ''];
    expect(rowToMessage(columns, row)).toEqual({ message: { type: 'identify', userId: 'u-2', traits: { email: 'b@example.com', order_id: 7 } } });
  });

  it('uses the defaults and converts epoch timestamps', () => {
    const c = compileHeader(['userId', 'timestamp', 'amount', 'vip']).columns;
    expect(rowToMessage(c, ['u', '1700000000', '12', 'TRUE'], { event: 'Order Completed' })).toEqual({
      message: { type: 'track', userId: 'u', timestamp: '2023-11-14T22:13:20.000Z', event: 'Order Completed', properties: { amount: 12, vip: true } },
    });
    expect(rowToMessage(c, ['u', '1700000000123', '', ''], { type: 'identify' }).message).toMatchObject({
      type: 'identify',
      timestamp: '2023-11-14T22:13:20.123Z',
    });
  });

  it('reports bad cells and bad types with the column', () => {
    const c = compileHeader(['userId', 'n:number', 'b:boolean', 'j:json']).columns;
    const r = rowToMessage(c, ['u', 'abc', 'maybe', '{bad'], {});
    expect(r.errors).toEqual([
      'column "n:number": "abc" is not a number',
      'column "b:boolean": "maybe" is not a boolean (true/false, 1/0, yes/no)',
      'column "j:json": "{bad" is not valid JSON',
    ]);
    expect(rowToMessage(compileHeader(['type', 'userId']).columns, ['purchase', 'u']).errors![0]).toMatch(/type "purchase"/);
  });

  it('refuses unusable headers', () => {
    expect(compileHeader(['properties.__proto__.x']).problems[0]).toMatch(/not a usable field path/);
    expect(compileHeader(['userId', 'user']).problems).toEqual([]);
    expect(compileHeader(['userId', 'id'], { id: 'userId' }).problems[0]).toMatch(/both set "userId"/);
    expect(compileHeader(['context.externalIds']).problems[0]).toMatch(/context.externalIds.<type>/);
    expect(compileHeader(['a..b']).problems[0]).toMatch(/not a usable/);
  });
});

describe('coerce', () => {
  it('auto-types numbers and booleans conservatively', () => {
    expect(coerce('42', 'auto')).toBe(42);
    expect(coerce('-3.25', 'auto')).toBe(-3.25);
    expect(coerce('007', 'auto')).toBe('007');
    expect(coerce('+4930123', 'auto')).toBe('+4930123');
    expect(coerce('1e5', 'auto')).toBe('1e5');
    expect(coerce('12345678901234567890', 'auto')).toBe('12345678901234567890');
    expect(coerce('False', 'auto')).toBe(false);
    expect(coerce(' spaced ', 'auto')).toBe(' spaced ');
    expect(coerce('[1,2]', 'json')).toEqual([1, 2]);
  });
});

describe('ChunkBuilder', () => {
  it('pads skipped file lines so body line N is file line lineOffset + N, and cuts at maxBytes', () => {
    const b = new ChunkBuilder(40);
    expect(b.add('{"a":1}', 2)).toBeNull();
    expect(b.add('{"a":2}', 5)).toBeNull(); // lines 3-4: blank padding
    const first = b.add('{"a":3333333333333333}', 6); // does not fit: a new chunk starts at line 6
    expect(first).toEqual({ body: '{"a":1}\n\n\n{"a":2}\n', lineOffset: 1, rows: 2, firstLine: 2, lastLine: 5, bytes: 18 });
    const second = b.flush()!;
    expect(second.lineOffset).toBe(5);
    expect(second.body).toBe('{"a":3333333333333333}\n');
    expect(b.flush()).toBeNull();
    // the padding keeps line numbers: body line 4 of the first chunk is file line 5
    expect(first!.body.split('\n')[3]).toBe('{"a":2}');
    expect(first!.lineOffset + 4).toBe(5);
  });

  it('starts a new chunk across big gaps and refuses rows larger than a request', () => {
    const b = new ChunkBuilder(1000, 10);
    b.add('{}', 1);
    const done = b.add('{}', 50);
    expect(done).toMatchObject({ firstLine: 1, lastLine: 1 });
    expect(b.flush()).toMatchObject({ lineOffset: 49, body: '{}\n' });
    expect(() => b.add('x'.repeat(1000), 60)).toThrow(RangeError);
  });
});

describe('describeRejection', () => {
  it('names the line and the reasons', () => {
    expect(
      describeRejection({
        line: 12,
        errors: [
          { path: 'event', code: 'required', message: 'event must be a non-empty string' },
          { path: 'x', message: 'bad' },
        ],
      }),
    ).toBe('line 12: event must be a non-empty string; x: bad');
    expect(describeRejection({ line: 3, errors: ['expected 3 fields'] })).toBe('line 3: expected 3 fields');
  });
});
