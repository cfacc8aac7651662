/**
 * Property test of nested and compound indexes and of keyset pages: the same random writes
 * go to a table with indexes on dotted paths and on several fields and to a table without any;
 * random queries must give the same answer on both and the answer of a plain reference filter
 * (so the planner never changes an answer), and a page walk to the end, with random inserts
 * and deletes between pages, must never repeat a record, keep the order, and return every
 * record that matched throughout.
 *
 * The reference semantics are written from API.md section 3, independently of lib/query.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Index, Table } from '../../lib/index.js';
import { MemoryTable } from '../../lib/engine/memory-table.js';
import type { TableClass } from '../../lib/interfaces/table-options.interface.js';
import { getTableSchema } from '../../lib/metadata/table-schema.js';

type Rec = Record<string, unknown> & { id: number };

@Index(['dept', 'age'])
@Index(['dept', 'profile.lang'], { kind: 'hash' })
@Index(['age', 'name'], { unique: false, kind: 'ordered' })
@Index('profile.lang', { kind: 'ordered' })
@Table({ name: 'indexed', indexes: ['age', 'profile.level', ['dept', 'age', 'name']] })
class Indexed {
  id!: number;
  dept?: unknown;
  age?: unknown;
  name?: unknown;
  profile?: { lang?: unknown; level?: unknown };
}

@Table({ name: 'plain' })
class Plain {
  id!: number;
  dept?: unknown;
  age?: unknown;
  name?: unknown;
  profile?: { lang?: unknown; level?: unknown };
}

const tableOf = (c: TableClass) => new MemoryTable(getTableSchema(c as TableClass<Rec>));

// ---- reference semantics ----------------------------------------------------------------

function readPath(record: object, path: string): unknown {
  let v: unknown = record;
  for (const segment of path.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, segment))
      return undefined;
    v = (v as Record<string, unknown>)[segment];
  }
  return v;
}

/** missing/null < booleans < numbers (NaN first) < strings < dates < anything else. */
function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  return v instanceof Date ? 4 : 5;
}

function order(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) {
    const x = a as number;
    const y = b as number;
    if (Number.isNaN(x) || Number.isNaN(y))
      return Number(!Number.isNaN(x)) - Number(!Number.isNaN(y));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ra === 1 || ra === 3) return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
  if (ra === 4) return Math.sign((a as Date).getTime() - (b as Date).getTime());
  return 0;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (a !== a && b !== b);
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b))
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => same(x, b[i]))
    );
  return a === b;
}

type Cond =
  | { path: string; op: 'eq'; v: unknown }
  | { path: string; op: 'in'; v: unknown[] }
  | { path: string; op: 'gt' | 'gte' | 'lt' | 'lte'; v: unknown };

function holds(record: object, c: Cond): boolean {
  const value = readPath(record, c.path);
  const eq = (w: unknown) => (w === null ? value === null || value === undefined : same(value, w));
  if (c.op === 'eq') return eq(c.v);
  if (c.op === 'in') return c.v.some(eq);
  if (rank(value) !== rank(c.v) || rank(value) === 0 || rank(value) === 5) return false;
  if (value !== value) return false;
  const d = order(value, c.v);
  return c.op === 'gt' ? d > 0 : c.op === 'gte' ? d >= 0 : c.op === 'lt' ? d < 0 : d <= 0;
}

const toFilter = (conds: Cond[]) =>
  conds.length === 0
    ? {}
    : {
        $and: conds.map((c) => ({
          [c.path]: c.op === 'eq' ? { $eq: c.v } : { [`$${c.op}`]: c.v },
        })),
      };

// ---- generators -----------------------------------------------------------------------

const date = (ms: number) => new Date(ms);
const scalar = fc.oneof(
  fc.constantFrom<unknown>('a', 'b', 'c', 'x', 1, 2, 3, 2.5, -1, 0, NaN, null, true),
  fc.constantFrom(1, 2, 3).map(date),
);
const field = (withArrays: boolean) =>
  withArrays
    ? fc.oneof(
        { weight: 6, arbitrary: scalar },
        { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) },
      )
    : scalar;

/** Departments of a page walk: few, so that a fixed one holds many records. */
const fewDepts = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>('a', 'b') },
  { weight: 1, arbitrary: scalar },
);

const record = (withArrays: boolean, dept = field(withArrays)) =>
  fc
    .record(
      {
        id: fc.integer({ min: 0, max: 30 }),
        dept,
        age: field(withArrays),
        name: field(withArrays),
        profile: fc.oneof(
          fc.record({ lang: field(withArrays), level: field(withArrays) }, { requiredKeys: [] }),
          fc.constantFrom<unknown>('flat', null),
        ),
      },
      { requiredKeys: ['id'] },
    )
    .map((r) => r as Rec);

const PATHS = ['dept', 'age', 'name', 'profile.lang', 'profile.level'] as const;
const cond: fc.Arbitrary<Cond> = fc.oneof(
  fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant('eq' as const), v: scalar }),
  fc.record({
    path: fc.constantFrom(...PATHS),
    op: fc.constant('in' as const),
    v: fc.array(scalar, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    path: fc.constantFrom(...PATHS),
    op: fc.constantFrom('gt' as const, 'gte' as const, 'lt' as const, 'lte' as const),
    v: scalar.filter((v) => v !== null && typeof v !== 'boolean' && v === v),
  }),
);
/** Queries lean on the indexed shapes: a fixed dept, then something on age or the language. */
const conds: fc.Arbitrary<Cond[]> = fc.oneof(
  fc.array(cond, { maxLength: 3 }),
  fc
    .tuple(scalar, cond, fc.array(cond, { maxLength: 1 }))
    .map(([dept, next, rest]) => [{ path: 'dept', op: 'eq' as const, v: dept }, next, ...rest]),
);
const orderBy = fc.option(
  fc.tuple(fc.constantFrom(...PATHS, 'id'), fc.constantFrom('asc' as const, 'desc' as const)),
  { nil: undefined },
);

type Op = { t: 'write'; rec: Rec } | { t: 'delete'; id: number };
const op = (withArrays: boolean, maxId = 30, dept?: fc.Arbitrary<unknown>): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(record(withArrays, dept), fc.integer({ min: 0, max: maxId }))
        .map(([rec, id]) => ({ t: 'write' as const, rec: { ...rec, id } })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: maxId }).map((id) => ({ t: 'delete' as const, id })),
    },
  );

function apply(tables: MemoryTable<Rec>[], o: Op): void {
  for (const t of tables) {
    if (o.t === 'write') t.write(o.rec);
    else t.delete(o.id);
  }
}

const ids = (records: readonly Rec[]) => records.map((r) => r.id);
const sortedIds = (records: readonly Rec[]) => ids(records).sort((a, b) => a - b);

function referenceOrder(path: string, direction: 'asc' | 'desc') {
  const sign = direction === 'asc' ? 1 : -1;
  return (a: Rec, b: Rec) => (order(readPath(a, path), readPath(b, path)) || a.id - b.id) * sign;
}

// ---- properties -----------------------------------------------------------------------

describe('nested and compound indexes (property)', () => {
  it('answer every query as a table without indexes and as the reference filter', () => {
    fc.assert(
      fc.property(
        fc.array(op(false), { maxLength: 60 }),
        fc.array(
          fc.tuple(conds, orderBy, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined })),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        (ops, queries) => {
          const indexed = tableOf(Indexed);
          const plain = tableOf(Plain);
          for (const o of ops) apply([indexed, plain], o);
          const all = [...plain.rows.values()];
          for (const [cs, ob, limit] of queries) {
            const filter = toFilter(cs);
            const expected = all.filter((r) => cs.every((c) => holds(r, c)));
            expect(sortedIds(indexed.select(filter))).toEqual(sortedIds(expected));
            expect(sortedIds(plain.select(filter))).toEqual(sortedIds(expected));
            expect(indexed.count(filter)).toBe(expected.length);
            if (ob) {
              const options = { orderBy: { [ob[0]]: ob[1] }, ...(limit ? { limit } : {}) };
              const wanted = ids(expected.sort(referenceOrder(ob[0], ob[1])).slice(0, limit));
              expect(ids(indexed.select(filter, options))).toEqual(wanted);
              expect(ids(plain.select(filter, options))).toEqual(wanted);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never change an answer when records hold arrays in indexed fields', () => {
    fc.assert(
      fc.property(
        fc.array(op(true), { maxLength: 60 }),
        fc.array(fc.tuple(conds, orderBy), { minLength: 1, maxLength: 8 }),
        (ops, queries) => {
          const indexed = tableOf(Indexed);
          const plain = tableOf(Plain);
          for (const o of ops) apply([indexed, plain], o);
          for (const [cs, ob] of queries) {
            const filter = toFilter(cs);
            const options = ob ? { orderBy: { [ob[0]]: ob[1] }, limit: 4 } : undefined;
            expect(ids(indexed.select(filter, options)).sort()).toEqual(
              ids(plain.select(filter, options)).sort(),
            );
            if (options)
              expect(ids(indexed.select(filter, options))).toEqual(
                ids(plain.select(filter, options)),
              );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('walk pages to the end under inserts and deletes: no repeat, in order, nothing lost', () => {
    fc.assert(
      fc.property(
        fc.array(op(false, 30, fewDepts), { maxLength: 60 }),
        fc.oneof(
          conds,
          fc
            .tuple(fc.constantFrom('a', 'b'), fc.array(cond, { maxLength: 1 }))
            .map(([dept, rest]) => [{ path: 'dept', op: 'eq' as const, v: dept }, ...rest]),
        ),
        // age after a fixed dept seeks the compound index; profile.lang its ordered index
        fc.oneof(
          orderBy,
          fc.tuple(
            fc.constantFrom('age', 'profile.lang'),
            fc.constantFrom('asc' as const, 'desc' as const),
          ),
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(op(false, 60, fewDepts), { maxLength: 3 }), { maxLength: 30 }),
        (ops, cs, ob, limit, between) => {
          const indexed = tableOf(Indexed);
          const plain = tableOf(Plain);
          for (const o of ops) apply([indexed, plain], o);
          const filter = toFilter(cs);
          const [path, direction] = ob ?? (['id', 'asc'] as const);
          const options = ob ? { orderBy: { [path]: direction }, limit } : { limit };
          const compare = referenceOrder(path, direction);
          const matches = (r: Rec) => cs.every((c) => holds(r, c));
          // records that match from the first page to the last, untouched meanwhile
          const steady = new Map(
            [...plain.rows.values()].filter(matches).map((r) => [r.id, r] as const),
          );
          const used = new Set(ids([...plain.rows.values()]));
          for (const o of ops) if (o.t === 'write') used.add(o.rec.id);
          const seen: Rec[][] = [[], []];
          const cursors: (string | undefined)[] = [undefined, undefined];
          let pages = 0;
          let done = false;
          while (!done) {
            const results = [indexed, plain].map((t, i) =>
              t.page(filter, { ...options, ...(cursors[i] ? { after: cursors[i] } : {}) }),
            );
            expect(ids(results[0].items)).toEqual(ids(results[1].items));
            expect(results[0].items.length).toBeLessThanOrEqual(limit);
            results.forEach((r, i) => {
              for (const item of r.items) expect(matches(item)).toBe(true);
              seen[i].push(...r.items);
              cursors[i] = r.next;
            });
            done = results[0].next === undefined;
            expect(results[1].next === undefined).toBe(done);
            // inserts of new keys and deletes only: an updated (or deleted and inserted again)
            // record may move past the cursor and rightly show twice
            for (const o of between[pages++] ?? []) {
              if (o.t === 'write' && used.has(o.rec.id)) continue;
              if (o.t === 'write') used.add(o.rec.id);
              apply([indexed, plain], o);
              steady.delete(o.t === 'write' ? o.rec.id : o.id);
            }
          }
          const walked = seen[0];
          for (let i = 1; i < walked.length; i++)
            expect(compare(walked[i - 1], walked[i])).toBeLessThan(0);
          expect(new Set(ids(walked)).size).toBe(walked.length);
          const walkedIds = new Set(ids(walked));
          for (const id of steady.keys()) expect(walkedIds.has(id)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
