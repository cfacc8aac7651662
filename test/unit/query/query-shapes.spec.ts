import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { QueryError } from '../../../lib/errors/query.error.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { cachedQueryShapes, MAX_QUERY_SHAPES } from '../../../lib/query/query-shapes.js';

@Table({ name: 'shape_plain' })
class Plain {
  id!: string;
  team?: unknown;
  age?: unknown;
  active?: unknown;
}

@Index('age', { kind: 'ordered' })
@Table({ name: 'shape_indexed', indexes: ['team'] })
class Indexed {
  id!: string;
  team?: unknown;
  age?: unknown;
  active?: unknown;
}

@Table({ name: 'shape_coded', key: 'code' })
class Coded {
  code!: string;
  team?: unknown;
}

interface Row {
  id: string;
  team?: unknown;
  age?: unknown;
  active?: unknown;
}

const TEAMS = ['red', 'blue', 'gold'];

function rows(): Row[] {
  return Array.from({ length: 60 }, (_, i) => ({
    id: `r${String(i).padStart(2, '0')}`,
    team: TEAMS[i % 3],
    age: 20 + (i % 17),
    active: i % 4 !== 0,
  }));
}

function tables(): MemoryTable<object>[] {
  return [Plain, Indexed].map((c) => {
    const table = new MemoryTable<object>(getTableSchema(c));
    for (const r of rows()) table.write(r);
    return table;
  });
}

const ids = (records: readonly object[]) => records.map((r) => (r as Row).id);

describe('query shapes: a repeated shape reuses its compiled form and plan', () => {
  it('gives every query of a repeated shape its own values, with and without indexes', () => {
    const all = rows();
    for (const table of tables()) {
      for (const team of [...TEAMS, 'none'])
        for (const active of [true, false]) {
          expect(ids(table.select({ team, active }))).toEqual(
            ids(all.filter((r) => r.team === team && r.active === active)),
          );
          expect(
            ids(
              table.select([
                ['team', '==', team],
                ['active', '===', active],
              ]),
            ),
          ).toEqual(ids(all.filter((r) => r.team === team && r.active === active)));
        }
      for (const low of [19, 20, 25, 36, 40])
        for (const high of [20, 26, 30, 37]) {
          const expected = all
            .filter((r) => (r.age as number) >= low && (r.age as number) < high)
            .map((r) => r.id);
          expect(ids(table.select({ age: { $gte: low, $lt: high } })).sort()).toEqual(
            expected.sort(),
          );
          // the same bounds again, in the order an ordered index walks
          const page = all
            .filter((r) => (r.age as number) > low && (r.age as number) <= high)
            .sort((a, b) => (b.age as number) - (a.age as number) || (b.id < a.id ? -1 : 1))
            .slice(1, 6)
            .map((r) => r.id);
          expect(
            ids(
              table.select(
                { age: { $gt: low, $lte: high } },
                { orderBy: { age: 'desc' }, offset: 1, limit: 5 },
              ),
            ),
          ).toEqual(page);
        }
    }
  });

  it('keeps one template per shape, not per query', () => {
    const [table] = tables();
    table.select({ team: 'red', active: true, age: { $gt: 1 } });
    const shapes = cachedQueryShapes();
    for (const team of TEAMS) table.select({ team, active: false, age: { $gt: 30 } });
    expect(cachedQueryShapes()).toBe(shapes);
    // another type of value is another shape, with its own answers
    expect(ids(table.select({ team: 'red', active: true, age: { $gt: '1' } }))).toEqual([]);
    expect(cachedQueryShapes()).toBe(shapes + 1);
    expect(table.select({ team: 'red', active: true, age: { $gt: 1 } })).toHaveLength(15);
  });

  it('reuses the compiled query of the same values, and only of the same values', () => {
    const [table] = tables();
    table.compile({ team: 'red', age: { $lt: 25 } }); // the shape's first query: in full
    const red = table.compile({ team: 'red', age: { $lt: 25 } });
    expect(table.compile({ team: 'red', age: { $lt: 25 } })).toBe(red);
    const blue = table.compile({ team: 'blue', age: { $lt: 25 } });
    expect(blue).not.toBe(red);
    expect(table.compile({ team: 'red', age: { $lt: 26 } })).not.toBe(red);
    expect(table.compile({ team: 'red', age: { $lt: -0 } })).not.toBe(
      table.compile({ team: 'red', age: { $lt: 0 } }),
    );
    for (const team of ['red', 'red', 'blue', 'red'])
      expect(ids(table.select({ team, age: { $lt: 25 } }))).toEqual(
        ids(rows().filter((r) => r.team === team && (r.age as number) < 25)),
      );
  });

  it('refuses a bad query every time: nothing of it is kept', () => {
    const [table] = tables();
    for (let i = 0; i < 3; i++) {
      expect(() => table.select({ 'a..b': 1 })).toThrow(QueryError);
      expect(() => table.select({ team: { $gt: 1, $bogus: 2 } })).toThrow(QueryError);
      expect(() => table.select([['team', '=~', 'x']])).toThrow(QueryError);
    }
  });

  it('tells an attribute map whose field names look like tuple tokens from a list of tuples', () => {
    const table = new MemoryTable<object>(getTableSchema(Plain));
    table.write({ id: 'a', team: 'x', active: 'y' });
    // the map names fields '[' and '=='; the tuple list compares 'team'
    table.select([['team', '==', 'x']]);
    expect(table.select({ '[': 'team', '==': 'x' })).toEqual([]);
    expect(ids(table.select([['team', '==', 'x']]))).toEqual(['a']);
  });

  it('plans the same shape per table: a scan where no index serves it, the index where one does', () => {
    const [plain, indexed] = tables();
    for (const team of TEAMS) {
      expect(plain.plan({ team }).path.kind).toBe('scan');
      expect(plain.select({ team })).toHaveLength(20);
      expect(indexed.plan({ team }).path.kind).toBe('index');
      expect(indexed.explain({ team }).examinedRows).toBe(20);
      expect(indexed.select({ team })).toHaveLength(20);
    }
    // a shape the key serves
    expect(ids(plain.select({ id: 'r07' }))).toEqual(['r07']);
    expect(plain.explain({ id: 'r08' })).toMatchObject({ examinedRows: 1, returnedRows: 1 });
  });

  it('sees writes between two queries of one range (the remembered positions are dropped)', () => {
    const [, indexed] = tables();
    const query = { age: { $gt: 34 } };
    const options = { orderBy: { age: 'desc' }, limit: 3 } as const;
    expect(ids(indexed.select(query, options))).toEqual(['r50', 'r33', 'r16']);
    indexed.write({ id: 'r99', team: 'red', age: 90, active: true });
    expect(ids(indexed.select(query, options))).toEqual(['r99', 'r50', 'r33']);
    indexed.delete('r50');
    indexed.write({ id: 'r33', team: 'red', age: 1, active: true });
    expect(ids(indexed.select(query, options))).toEqual(['r99', 'r16', 'r49']);
    // a record before the range moves where it starts
    indexed.write({ id: 'r98', team: 'red', age: 2, active: true });
    expect(ids(indexed.select(query, { orderBy: { age: 'asc' } }))).toEqual([
      'r15',
      'r32',
      'r49',
      'r16',
      'r99',
    ]);
  });

  it('returns exactly the matches of a range served by an ordered index, whatever the field holds', () => {
    const table = new MemoryTable<object>(getTableSchema(Indexed));
    const values: unknown[] = [5, '7', null, NaN, 6, true, new Date(6), { n: 6 }, 9, -1];
    values.forEach((age, i) => table.write({ id: `v${i}`, age }));
    expect(table.plan({ age: { $gt: 4 } })).toMatchObject({ exact: true });
    expect(ids(table.select({ age: { $gt: 4 } })).sort()).toEqual(['v0', 'v4', 'v8']);
    expect(ids(table.select({ age: { $gte: '0' } }))).toEqual(['v1']);
    expect(ids(table.select({ age: { $lt: 6 } }, { orderBy: { age: 'desc' }, limit: 5 }))).toEqual([
      'v0',
      'v9',
    ]);
  });

  it('breaks ties of a cached order by each table’s own key', () => {
    const byId = new MemoryTable<object>(getTableSchema(Plain));
    const byCode = new MemoryTable<object>(getTableSchema(Coded));
    for (const [id, code] of [
      ['b', 'y'],
      ['a', 'z'],
      ['c', 'x'],
    ]) {
      byId.write({ id, team: 't' });
      byCode.write({ code, team: 't' });
    }
    for (let i = 0; i < 2; i++) {
      expect(ids(byId.select(undefined, { orderBy: { team: 'desc' } }))).toEqual(['c', 'b', 'a']);
      expect(
        byCode.select(undefined, { orderBy: { team: 'desc' } }).map((r) => (r as Coded).code),
      ).toEqual(['z', 'y', 'x']);
    }
  });

  it('holds a bounded number of shapes, and answers right after starting over', () => {
    const [table] = tables();
    for (let i = 0; i < MAX_QUERY_SHAPES + 10; i++) {
      expect(table.select({ team: 'red', [`f${i}`]: i })).toEqual([]);
      expect(cachedQueryShapes()).toBeLessThanOrEqual(MAX_QUERY_SHAPES);
    }
    expect(table.select({ team: 'red', active: true })).toHaveLength(15);
    expect(table.select({ team: 'red', active: false })).toHaveLength(5);
  });
});
