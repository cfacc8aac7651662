import { describe, expect, it } from '@jest/globals';
import { JsonSplitter } from '../../../lib/persistence/json-splitter.js';

/** The records of a JSON text fed in pieces of `size` characters, and the envelope's members. */
function split(text: string, size = text.length) {
  const records: unknown[] = [];
  const splitter = new JsonSplitter((record) => records.push(JSON.parse(record)));
  for (let at = 0; at < text.length; at += size) splitter.write(text.slice(at, at + size));
  splitter.end();
  return { records, members: splitter.members };
}

const RECORDS = [
  { id: 'a]b', note: 'brackets ] } [ {, "quotes", commas: and colons' },
  { id: 'c\\d', note: 'back\\slash \\" \u00e9\u{1F600}', n: [1, [2, { x: '}' }]] },
  { id: 'e', n: -1.5e3, ok: true, none: null },
];

describe('JsonSplitter', () => {
  it('gives each record of an array, and of an envelope with its other members, however cut', () => {
    const envelope = JSON.stringify(
      { table: 't', version: 2, records: RECORDS, after: [1] },
      null,
      2,
    );
    for (const size of [1, 2, 3, 7, 64, envelope.length]) {
      expect(split(envelope, size)).toEqual({
        records: RECORDS,
        members: { table: 't', version: 2, after: [1] },
      });
      expect(split(JSON.stringify(RECORDS), size).records).toEqual(RECORDS);
    }
    expect(split('[]').records).toEqual([]);
    expect(split('{"records": []}').records).toEqual([]);
  });

  it.each([
    ['"a string"', /holds an array of records/],
    ['{"rows": []}', /holds an array of records/],
    ['{"records": {"a": 1}}', /holds an array of records/],
    ['[{"id": "a"}', /ends early/],
    ['[{"id": "a"}] [', /after the end/],
  ])('refuses %j with a SyntaxError', (text, message) => {
    expect(() => split(text)).toThrow(message);
  });
});
