import { describe, expect, it } from '@jest/globals';
import { CsvReader, CsvSyntaxError } from '../../../lib/persistence/csv-reader.js';

/** The records of a CSV text fed in pieces of `size` characters, with their lines. */
function read(text: string, size = text.length): [string[], number][] {
  const records: [string[], number][] = [];
  const reader = new CsvReader((fields, line) => records.push([fields, line]));
  for (let at = 0; at < text.length; at += size) reader.write(text.slice(at, at + size));
  reader.end();
  return records;
}

const TEXT =
  '\uFEFFid,name,note\r\n' +
  'a,"Ada ""the first"", Countess\r\nof Lovelace",\r\n' +
  '\n' +
  'b,"",plain\n' +
  'c,"a, b",""""\n' +
  'd,last,no line end';

const EXPECTED: [string[], number][] = [
  [['id', 'name', 'note'], 1],
  [['a', 'Ada "the first", Countess\r\nof Lovelace', ''], 3],
  [['b', '', 'plain'], 5],
  [['c', 'a, b', '"'], 6],
  [['d', 'last', 'no line end'], 7],
];

describe('CsvReader', () => {
  it('reads quoted fields, doubled quotes, CRLF and LF, empty lines, a BOM and a last line without its end', () => {
    expect(read(TEXT)).toEqual(EXPECTED);
  });

  it('gives the same records however the text is cut into pieces', () => {
    for (const size of [1, 2, 3, 5, 7, 16]) expect(read(TEXT, size)).toEqual(EXPECTED);
  });

  it('reads a long quoted field in pieces, in linear time', () => {
    const long = 'x'.repeat(2_000_000);
    const records = read(`id,body\n1,"${long}"\n`, 65_536);
    expect(records[1][0][1]).toHaveLength(2_000_000);
  });

  it.each([
    ['id,name\na,"no end\nb,c\n', /Quote Not Closed/, 2],
    ['id,name\na,b"c\n', /Invalid Opening Quote/, 2],
    ['id,name\na,"b"c\n', /Invalid Closing Quote/, 2],
  ])('refuses %j with a CsvSyntaxError naming the line', (text, message, line) => {
    let error: unknown;
    try {
      read(text);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect((error as Error).message).toMatch(message);
    expect(error).toMatchObject({ lines: line });
  });
});
