import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { fieldReader, fieldValue } from '../../../lib/indexes/secondary-index.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';

/** Field names a generated reader must spell right: quotes, escapes, unicode, numbers, inherited names. */
const NAMES = [
  'age',
  'a"b',
  "it's",
  'back\\slash',
  'new\nline',
  'sep\u2028arator',
  'ünïcødé 名前',
  '😀',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '1',
  '007',
  '-1',
  '1e3',
  '',
  ' ',
  '${x}',
  '`tick`',
  '</script>',
  'nested.inner',
  'list.0',
];

class Defaults {
  age = 7;
  'a"b' = 'class default';
  toString = 'own text';
}

/** Records of several shapes holding, or not, each of the names. */
function records(): object[] {
  const full: Record<string, unknown> = {};
  NAMES.forEach((name, i) =>
    Object.defineProperty(full, name, { value: `v${i}`, enumerable: true }),
  );
  const bare = Object.create(null) as Record<string, unknown>;
  NAMES.forEach((name, i) => (bare[name] = i));
  return [
    full,
    bare,
    {},
    new Defaults(),
    { nested: { inner: 'deep' }, list: ['first', 'second'] },
    { nested: [{ inner: 'a' }, { inner: ['b', 'c'] }] },
    { age: null, toString: undefined },
  ];
}

describe('fieldReader: a reader made for one field reads what fieldValue reads', () => {
  it.each(NAMES)('field %j', (name) => {
    const read = fieldReader(name);
    for (const record of records()) expect(read(record)).toEqual(fieldValue(record, name));
  });

  it('reads an inherited method name as missing, and a class default as the record holds it', () => {
    expect(fieldReader('toString')({})).toBeUndefined();
    expect(fieldReader('constructor')(new Defaults())).toBeUndefined();
    expect(fieldReader('toString')(new Defaults())).toBe('own text');
    expect(fieldReader('a"b')(new Defaults())).toBe('class default');
    expect(fieldReader('age')(new Defaults())).toBe(7);
  });
});

@Table({ name: 'odd_index_names' })
class Odd {
  id!: string;
  @Index() 'a"b' = 'quoted';
  @Index() 'ünï 名' = 'unicode';
  @Index() '1' = 'numeric';
  @Index({ unique: true }) "it's" = '';
  @Index({ kind: 'ordered' }) 'back\\slash' = 0;
}

describe('indexes on odd field names', () => {
  it('find records by their values and by their class defaults, through writes and updates', () => {
    const table = new MemoryTable(getTableSchema(Odd));
    table.write({ id: 'a', "it's": 'ua', 'back\\slash': 3 });
    table.write({
      id: 'b',
      'a"b': 'other',
      'ünï 名': 'x',
      '1': 'one',
      "it's": 'ub',
      'back\\slash': 1,
    });
    const ids = (rows: readonly Odd[]) => rows.map((r) => r.id).sort();
    expect(ids(table.select({ 'a"b': 'quoted' }))).toEqual(['a']); // the class default
    expect(ids(table.select({ 'a"b': 'other' }))).toEqual(['b']);
    expect(ids(table.select({ 'ünï 名': 'unicode' }))).toEqual(['a']);
    expect(ids(table.select({ '1': 'one' }))).toEqual(['b']);
    expect(table.one({ "it's": 'ub' })?.id).toBe('b');
    expect(table.select({}, { orderBy: { 'back\\slash': 'asc' } }).map((r) => r.id)).toEqual([
      'b',
      'a',
    ]);
    table.update('a', { 'a"b': 'other', '1': 'one', "it's": 'uc' });
    expect(ids(table.select({ 'a"b': 'other' }))).toEqual(['a', 'b']);
    expect(ids(table.select({ 'a"b': 'quoted' }))).toEqual([]);
    expect(ids(table.select({ '1': 'one' }))).toEqual(['a', 'b']);
    expect(table.one({ "it's": 'ua' })).toBeUndefined();
    expect(table.one({ "it's": 'uc' })?.id).toBe('a');
    table.delete('b');
    expect(ids(table.select({ '1': 'one' }))).toEqual(['a']);
  });
});
