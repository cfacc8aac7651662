import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

// Hostile checks of the one-pass index update (issue 20): a value that is equal but not the
// same (NaN, -0 and 0, a new Date of the same time, a new array of the same elements), a value
// another record holds, and updates through every form, each compared with a table without
// any index (a scan) and with the indexes read directly.

@Table({ name: 'hostile_rows', indexes: ['tags'] })
class Row {
  id!: string;
  @Index({ unique: true }) code?: unknown;
  @Index({ kind: 'ordered' }) score?: unknown;
  tags?: unknown;
  note = '';
}

@Table({ name: 'hostile_bare' })
class Bare {
  id!: string;
  code?: unknown;
  score?: unknown;
  tags?: unknown;
  note = '';
}

const START: Partial<Row>[] = [
  { id: 'a', code: 'A', score: NaN, tags: ['x', 'y'] },
  { id: 'b', code: 'B', score: -0, tags: [] },
  { id: 'c', code: new Date(5), score: new Date(5), tags: ['y', 'y'] },
  { id: 'd', code: null, score: 0, tags: 'x' },
  { id: 'e', code: [1, 2], score: 2, tags: [['x']] },
];

function pair() {
  const indexed = new MemoryTable(getTableSchema(Row));
  const bare = new MemoryTable(getTableSchema(Bare));
  for (const r of START) {
    indexed.write(r);
    bare.write(r);
  }
  return { indexed, bare };
}

const PROBES: unknown[] = [
  'A',
  'B',
  'x',
  'y',
  null,
  0,
  -0,
  2,
  NaN,
  new Date(5),
  [1, 2],
  [],
  ['x'],
  ['y', 'y'],
];

/** Every probe's matches, through the planner (indexed) and by a scan (bare): they must agree. */
function agree(indexed: MemoryTable<Row>, bare: MemoryTable<Bare>): void {
  for (const field of ['code', 'score', 'tags'])
    for (const value of PROBES) {
      const q = { [field]: value };
      expect({ field, value, keys: keysOf(indexed.select(q)) }).toEqual({
        field,
        value,
        keys: keysOf(bare.select(q)),
      });
    }
  for (const q of [
    { score: { $gte: 0 } },
    { score: { $lt: 1 } },
    { score: { $gt: new Date(4) } },
  ]) {
    expect(keysOf(indexed.select(q))).toEqual(keysOf(bare.select(q)));
    expect(indexed.select(q, { orderBy: { score: 'desc' }, limit: 2 }).map((r) => r.id)).toEqual(
      bare.select(q, { orderBy: { score: 'desc' }, limit: 2 }).map((r) => r.id),
    );
  }
  // every index hands out the current record, never the one an update replaced
  for (const record of indexed.all())
    for (const field of ['code', 'tags']) {
      const index = indexed.indexes.get(field)!;
      const value = index.valueOf(record);
      if (value === null || value === undefined || (Array.isArray(value) && value.length === 0))
        continue;
      const probe = Array.isArray(value) && field === 'tags' ? value[0] : value;
      expect([...index.lookup(probe)]).toContain(record);
    }
}

describe('one-pass index updates (hostile)', () => {
  it('keeps every index right when an update writes a value equal but not the same', () => {
    const { indexed, bare } = pair();
    const same: [string, Partial<Row>][] = [
      ['a', { score: NaN }],
      ['a', { tags: ['x', 'y'] }],
      ['b', { score: 0 }],
      ['b', { code: 'B', tags: [] }],
      ['c', { code: new Date(5), score: new Date(5) }],
      ['c', { tags: ['y', 'y'] }],
      ['d', { score: -0, code: null }],
      ['e', { code: [1, 2], tags: [['x']] }],
      ['e', { note: 'only another field' }],
    ];
    for (const [key, change] of same) {
      indexed.update(key, change);
      bare.update(key, change);
      agree(indexed, bare);
    }
    for (const [key, change] of same) {
      indexed.update(key, () => change);
      bare.update(key, () => change);
      indexed.update(key, { $set: change } as never);
      bare.update(key, { $set: change } as never);
      agree(indexed, bare);
    }
  });

  it('refuses a unique value another record holds through every form of update, changing nothing', () => {
    const { indexed, bare } = pair();
    const before = indexed.all();
    const changes: unknown[] = [
      { code: 'B' },
      { code: new Date(5) },
      { code: [1, 2] },
      { $set: { code: 'B' } },
      () => ({ code: 'B' }),
      { $rename: { note: 'code' } },
    ];
    indexed.update('d', { note: 'B' }); // $rename moves 'B' into code
    bare.update('d', { note: 'B' });
    for (const change of changes) {
      thrown(DuplicateKeyError, () => indexed.update('d', change as never));
      expect(indexed.get('d')).toEqual({ ...before[3], note: 'B' });
      agree(indexed, bare);
    }
    for (let i = 0; i < before.length; i++) if (i !== 3) expect(indexed.all()[i]).toBe(before[i]);
  });

  it('stores updates on a table with nothing to maintain as a full update would, and reports them', () => {
    const changes: TableChange<Bare>[] = [];
    const bare = new MemoryTable(getTableSchema(Bare));
    const heard = new MemoryTable(getTableSchema(Bare), { onChange: (c) => changes.push(c) });
    for (const r of START) {
      bare.write(r);
      heard.write(r);
    }
    const steps: [string, unknown][] = [
      ['a', { $unset: { tags: '' } }],
      ['b', { $rename: { code: 'note' } }],
      ['c', (r: Bare) => ({ score: r.score, note: 'f' })],
      ['d', { $set: { tags: ['z'] } }],
      ['e', { score: undefined }],
    ];
    for (const [key, change] of steps) {
      const a = bare.update(key, change as never);
      const b = heard.update(key, change as never);
      expect(a).toEqual(b);
      expect(Object.keys(a)).toEqual(Object.keys(b));
      expect(Object.isFrozen(a)).toBe(true);
      expect(bare.get(key)).toBe(a);
    }
    expect(changes.filter((c) => c.op === 'update').map((c) => c.key)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(bare.all()).toEqual(heard.all());
    expect(keysOf(bare.select({ note: 'B' }))).toEqual(['b']);
    expect(keysOf(bare.select({ tags: 'z' }))).toEqual(['d']);
  });
});
