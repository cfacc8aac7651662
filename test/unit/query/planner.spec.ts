import 'reflect-metadata';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { documentedMatch, keysOf, orderOf } from '../test-helpers.js';

@Table({ name: 'indexed', indexes: ['team', 'level', 'value'] })
class Indexed {
  id!: string | number;
  @Index({ unique: true }) email?: unknown;
  team?: unknown;
  level?: unknown;
  value?: unknown;
  note?: unknown;
}

@Table({ name: 'plain' })
class Plain {
  id!: string | number;
  email?: unknown;
  team?: unknown;
  level?: unknown;
  value?: unknown;
  note?: unknown;
}

const VALUES: unknown[] = [
  1,
  '1',
  0,
  -0,
  NaN,
  true,
  false,
  '',
  null,
  undefined,
  new Date(5),
  5,
  [1, 2],
  [2, 1],
  { a: 1, b: [1, { c: 2 }] },
  { b: [1, { c: 2 }], a: 1 },
  { 0: 1, 1: 2 },
  {},
  [],
];

function rows(): Record<string, unknown>[] {
  return VALUES.flatMap((value, i) => [
    { id: `r${i}`, value, team: i % 3 === 0 ? 'red' : 'blue', level: i % 4, email: value },
    { id: `s${i}`, value, team: value, email: i === 8 ? null : `s${i}@x` },
  ]).map((r) => {
    if (r.value === undefined) delete r.value;
    return r;
  });
}

function tables() {
  const indexed = new MemoryTable(getTableSchema(Indexed));
  const plain = new MemoryTable(getTableSchema(Plain));
  for (const r of rows()) {
    try {
      indexed.write(r);
    } catch (error) {
      // Values equal to an earlier one (-0, reordered keys) cannot share the unique index.
      if (!(error instanceof DuplicateKeyError)) throw error;
      r.email = `${String(r.id)}@x`;
      indexed.write(r);
    }
    plain.write(r);
  }
  return { indexed, plain };
}

describe('planner: access paths', () => {
  const { indexed } = tables();

  it('uses the primary key when the query fixes it', () => {
    expect(indexed.plan({ id: 'r1' }).path.kind).toBe('key');
    expect(indexed.plan({ id: 'r1', team: 'red' }).path.kind).toBe('key');
  });

  it('uses an index for an indexed field, unique or not', () => {
    const unique = indexed.plan({ email: 's1@x' }).path;
    expect(unique).toMatchObject({ kind: 'index', field: 'email', unique: true });
    const team = indexed.plan({ team: 'red' }).path;
    expect(team).toMatchObject({ kind: 'index', field: 'team', unique: false });
    expect(indexed.plan({ value: null }).path.kind).toBe('index');
  });

  it('scans for fields without an index, dotted paths and the empty query', () => {
    expect(indexed.plan({ note: 'x' }).path.kind).toBe('scan');
    expect(indexed.plan({ 'team.name': 'x' }).path.kind).toBe('scan');
    expect(indexed.plan({}).path.kind).toBe('scan');
    expect(indexed.plan().path.kind).toBe('scan');
  });

  it('picks the most selective of two indexed equalities, whatever their order', () => {
    const table = new MemoryTable(getTableSchema(Indexed));
    for (let i = 0; i < 12; i++) table.write({ id: i, team: 'red', level: i % 6 });
    table.write({ id: 'x', team: 'blue', level: 0 });
    expect(table.plan({ team: 'red', level: 3 }).path).toMatchObject({ field: 'level' });
    expect(table.plan({ level: 3, team: 'red' }).path).toMatchObject({ field: 'level' });
    expect(table.plan({ team: 'blue', level: 0 }).path).toMatchObject({ field: 'team' });
    expect(table.plan({ level: 0, team: 'blue' }).path).toMatchObject({ field: 'team' });
    expect(table.plan({ level: 0, team: 'blue' }).estimatedRows).toBe(1);
    expect(table.plan({ team: 'red', level: 99 }).estimatedRows).toBe(0);
  });

  it('prefers a unique index holding the value over a wide non-unique one', () => {
    const table = new MemoryTable(getTableSchema(Indexed));
    for (let i = 0; i < 5; i++) table.write({ id: i, team: 'red', email: `${i}@x` });
    expect(table.plan({ team: 'red', email: '3@x' }).path).toMatchObject({ field: 'email' });
  });

  it('counts null and missing values together for a null equality', () => {
    const table = new MemoryTable(getTableSchema(Indexed));
    table.writeMany([{ id: 1, team: null }, { id: 2 }, { id: 3, team: 'red' }]);
    expect(table.plan({ team: null }).estimatedRows).toBe(2);
    expect(keysOf(table.select({ team: null }))).toEqual([1, 2]);
  });
});

describe('planner: plans never change results', () => {
  const queries: Record<string, unknown>[] = [
    ...VALUES.filter((v) => v !== undefined).flatMap((v) => [
      { value: v },
      { team: v },
      { email: v },
      { team: v, level: 1 },
      { value: v, team: 'red' },
    ]),
    { id: 'r3' },
    { id: 'r3', team: 'blue' },
    { level: 2 },
    { level: 2, team: 'red', value: 1 },
  ];

  const labelled = queries.map(
    (q) => [inspect(q, { breakLength: Infinity, depth: 4 }), q] as const,
  );

  it.each(labelled)('%s', (_label, query) => {
    const { indexed, plain } = tables();
    const naive = indexed
      .all()
      .filter((r) =>
        Object.entries(query).every(([f, v]) =>
          documentedMatch((r as unknown as Record<string, unknown>)[f], v),
        ),
      );
    expect(plain.plan(query).path.kind).toMatch(/^(scan|key)$/);
    expect(keysOf(indexed.select(query))).toEqual(keysOf(naive));
    expect(keysOf(plain.select(query))).toEqual(keysOf(naive));
    expect(indexed.count(query)).toBe(naive.length);
    expect(indexed.one(query) === undefined).toBe(naive.length === 0);
  });

  it('uses indexes in these comparisons', () => {
    const { indexed } = tables();
    expect(indexed.plan({ value: [1, 2] }).path.kind).toBe('index');
    expect(indexed.plan({ team: { a: 1, b: [1, { c: 2 }] } }).path.kind).toBe('index');
    expect(indexed.plan({ email: new Date(5) }).path.kind).toBe('index');
  });

  it('refuses an array given with holes, which no record holds, whatever the plan', () => {
    const { indexed, plain } = tables();
    indexed.write({ id: 'holes', value: [undefined, 1] });
    plain.write({ id: 'holes', value: [undefined, 1] });
    // eslint-disable-next-line no-sparse-arrays
    const query = { value: [, 1] };
    for (const table of [plain, indexed] as MemoryTable<Indexed | Plain>[]) {
      expect(() => table.select(query)).toThrow(
        "the value for 'value' has a hole at index 0 (a sparse array), which no record can hold",
      );
    }
    expect(keysOf(indexed.select({ value: [null, 1] }))).toEqual([]);
  });

  // Without orderBy the order of matches is unspecified (an index yields its own order), so
  // plans may pick different first matches; the set of matches never differs.
  it('returns the same matches whatever the plan, after a record leaves a value and returns', () => {
    const indexed = new MemoryTable(getTableSchema(Indexed));
    const plain = new MemoryTable(getTableSchema(Plain));
    for (const table of [indexed, plain] as MemoryTable<Indexed | Plain>[]) {
      for (const id of ['a', 'b', 'c']) table.write({ id, team: 'red' });
      table.update('a', { team: 'blue' });
      table.update('a', { team: 'red' });
    }
    expect(orderOf(plain.all())).toEqual(['a', 'b', 'c']);
    expect(['a', 'b', 'c']).toContain(indexed.one({ team: 'red' })?.id);
    expect(orderOf(indexed.select({ team: 'red' })).sort()).toEqual(
      orderOf(plain.select({ team: 'red' })).sort(),
    );
    const withdrawn = indexed.withdraw({ team: 'red' })!;
    expect(indexed.get(withdrawn.id)).toBeUndefined();
    expect(indexed.count({ team: 'red' })).toBe(2);
  });

  it('keeps index order equal to table order while updates leave the indexed value alone', () => {
    const indexed = new MemoryTable(getTableSchema(Indexed));
    const plain = new MemoryTable(getTableSchema(Plain));
    for (const table of [indexed, plain] as MemoryTable<Indexed | Plain>[]) {
      for (const id of ['a', 'b', 'c', 'd']) table.write({ id, team: 'red', level: 1 });
      table.update('a', { level: 2 });
      table.write({ id: 'b', team: 'red', level: 3 });
    }
    expect(plain.plan({ team: 'red' }).path.kind).toBe('scan');
    expect(indexed.plan({ team: 'red' }).path.kind).toBe('index');
    expect(plain.one({ team: 'red' })?.id).toBe('a');
    expect(indexed.one({ team: 'red' })?.id).toBe(plain.one({ team: 'red' })?.id);
    const page = { limit: 2, offset: 1 };
    expect(orderOf(plain.select({ team: 'red' }, page))).toEqual(['b', 'c']);
    expect(orderOf(indexed.select({ team: 'red' }, page))).toEqual(['b', 'c']);
    const tableOrder = orderOf(indexed.all().filter((r) => r.team === 'red'));
    expect(orderOf(indexed.select({ team: 'red' }))).toEqual(tableOrder);
  });
});
