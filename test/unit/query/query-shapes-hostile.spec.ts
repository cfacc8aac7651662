/**
 * Hostile checks of the query-shape cache, the plan memo, remembered range positions, exact
 * ranges and in-place index updates (issue 20): random writes, updates and queries of
 * repeated shapes with values of every type go to tables with and without indexes (a sorted
 * list of several blocks included), and every answer is compared with a plain `Array.filter`
 * over a model of the records, written from API.md section 3 independently of lib/query.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index, Table } from '../../../lib/index.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import type { TableClass } from '../../../lib/interfaces/table-options.interface.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { cachedQueryShapes } from '../../../lib/query/query-shapes.js';
import { cachedScanShapes } from '../../../lib/query/scan-compiler.js';

type Rec = Record<string, unknown> & { id: string };

@Table({ name: 'hostile_plain' })
class Plain {
  id!: string;
}

@Index('age', { kind: 'ordered' })
@Index('name', { kind: 'ordered' })
@Table({ name: 'hostile_indexed', indexes: ['team'] })
class Indexed {
  id!: string;
  team?: unknown;
  age?: unknown;
  name?: unknown;
}

@Index(['team', 'age'])
@Index(['name', 'age'], { kind: 'ordered' })
@Table({ name: 'hostile_ordered', type: 'ordered_set' })
class OrderedSet {
  id!: string;
  team?: unknown;
  age?: unknown;
  name?: unknown;
}

@Index('valueOf', { kind: 'ordered' })
@Table({ name: 'hostile_inherited', indexes: ['toString'] })
class Inherited {
  id!: string;
  declare toString: () => string;
  declare valueOf: unknown;
}

const tableOf = (c: unknown) => new MemoryTable<Rec>(getTableSchema(c as TableClass<Rec>));

/** A small deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- reference semantics (API.md section 3) ---------------------------------------------

function own(r: object, field: string): unknown {
  return Object.prototype.hasOwnProperty.call(r, field)
    ? (r as Record<string, unknown>)[field]
    : undefined;
}

/** missing/null < booleans < numbers and bigints (NaN first) < strings < dates < the rest. */
function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number' || typeof v === 'bigint') return 2;
  if (typeof v === 'string') return 3;
  return v instanceof Date ? 4 : 5;
}

function order(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) {
    const nx = a !== a;
    const ny = b !== b;
    if (nx || ny) return (nx ? 0 : 1) - (ny ? 0 : 1);
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (ra === 1 || ra === 3) return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
  if (ra === 4) return Math.sign((a as Date).getTime() - (b as Date).getTime());
  return 0;
}

function text(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'bigint'
      ? `${x}n`
      : typeof x === 'number' && !Number.isFinite(x)
        ? String(x)
        : Object.is(x, -0)
          ? '-0'
          : x,
  );
}

function equalOne(v: unknown, w: unknown): boolean {
  if (w === null) return v === null || v === undefined;
  if (typeof v === 'number' && typeof w === 'number') return v === w || (v !== v && w !== w);
  if (w instanceof Date) return v instanceof Date && v.getTime() === w.getTime();
  if (typeof w === 'object')
    return Array.isArray(v) === Array.isArray(w) && typeof v === 'object' && text(v) === text(w);
  return v === w;
}

const equalTo = (v: unknown, w: unknown) =>
  equalOne(v, w) || (Array.isArray(v) && v.some((e) => equalOne(e, w)));

function inRange(v: unknown, op: string, bound: unknown): boolean {
  if (rank(v) !== rank(bound) || v !== v) return false;
  const c = order(v, bound);
  return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
}

const ranged = (v: unknown, op: string, bound: unknown) =>
  inRange(v, op, bound) || (Array.isArray(v) && v.some((e) => inRange(e, op, bound)));

type Condition = unknown;

function matches(record: Rec, query: Record<string, Condition>): boolean {
  for (const field of Object.keys(query)) {
    const c = query[field];
    const v = own(record, field);
    const operators =
      typeof c === 'object' &&
      c !== null &&
      !(c instanceof Date) &&
      !Array.isArray(c) &&
      Object.keys(c).every((k) => k.startsWith('$'));
    if (!operators) {
      if (!equalTo(v, c)) return false;
      continue;
    }
    for (const [op, bound] of Object.entries(c as Record<string, unknown>))
      if (op === '$eq' ? !equalTo(v, bound) : !ranged(v, op, bound)) return false;
  }
  return true;
}

// ---- the run ------------------------------------------------------------------------------

const VALUES: unknown[] = [
  0,
  -0,
  1,
  2,
  5,
  7.5,
  -3,
  NaN,
  Infinity,
  -Infinity,
  'a',
  'b',
  'B',
  '',
  '5',
  'zz',
  true,
  false,
  null,
  new Date(5),
  new Date(7),
  [1, 5],
  ['a', 'zz'],
  [],
  { x: 1 },
  3n,
  6n,
];
const BOUNDS: unknown[] = [0, 1, 2, 5, -3, 7.5, 'a', 'b', '5', '', 3n, new Date(6), -Infinity];
const EQUALS = VALUES.filter((v) => !(typeof v === 'number' && v !== v));
const RANGE_OPS = ['$gt', '$gte', '$lt', '$lte'];

function run(
  fields: readonly string[],
  classes: unknown[],
  seed: number,
  keys: number,
  steps: number,
) {
  const rnd = random(seed);
  const pick = <V>(list: readonly V[]): V => list[Math.floor(rnd() * list.length)];
  const queried = [...fields, 'id'];
  const tables = classes.map(tableOf);
  const model = new Map<string, Rec>();
  const record = (): Rec => {
    const r: Rec = { id: `k${Math.floor(rnd() * keys)}` };
    for (const f of fields) if (rnd() < 0.85) r[f] = pick(VALUES);
    return r;
  };
  const write = (r: Rec) => {
    for (const t of tables) t.write(r);
    model.set(r.id, tables[0].get(r.id)!);
  };
  const query = (): Record<string, Condition> => {
    const q: Record<string, Condition> = {};
    for (let n = 1 + Math.floor(rnd() * 2); n > 0; n--) {
      const f = pick(queried);
      if (rnd() < 0.4) q[f] = pick(EQUALS);
      else {
        const ops: Record<string, unknown> = {};
        const op = pick([...RANGE_OPS, '$eq']);
        ops[op] = op === '$eq' ? pick(EQUALS) : pick(BOUNDS);
        if (rnd() < 0.4 && !('$lt' in ops)) ops.$lt = pick(BOUNDS);
        q[f] = ops;
      }
    }
    return q;
  };
  for (let i = 0; i < keys * 0.9; i++) write(record());
  let compared = 0;
  for (let step = 0; step < steps; step++) {
    const t = rnd();
    if (t < 0.3) write(record());
    else if (t < 0.45) {
      const key = `k${Math.floor(rnd() * keys)}`;
      if (!model.has(key)) continue;
      const f = pick(fields);
      const v = pick(VALUES);
      const u = rnd();
      const change =
        u < 0.2
          ? { $unset: { [f]: '' } }
          : u < 0.3
            ? { $rename: { [f]: pick(fields.filter((x) => x !== f)) } }
            : u < 0.5
              ? { $set: { [f]: v } }
              : u < 0.7
                ? () => ({ [f]: v })
                : { [f]: v };
      for (const table of tables) table.update(key, change);
      model.set(key, tables[0].get(key)!);
      for (const table of tables) expect(text(table.get(key))).toBe(text(model.get(key)));
    } else if (t < 0.5) {
      const key = `k${Math.floor(rnd() * keys)}`;
      for (const table of tables) table.delete(key);
      model.delete(key);
    } else {
      const q = query();
      const expected = [...model.values()].filter((r) => matches(r, q));
      const byKey = (a: Rec, b: Rec) => order(a.id, b.id);
      const ids = (rs: readonly Rec[]) => rs.map((r) => r.id);
      const f = pick(queried);
      const direction = pick(['asc', 'desc'] as const);
      const sign = direction === 'asc' ? 1 : -1;
      const limit = 1 + Math.floor(rnd() * 5);
      const offset = Math.floor(rnd() * 3);
      const page = [...expected]
        .sort((a, b) => (order(own(a, f), own(b, f)) || byKey(a, b)) * sign)
        .slice(offset, offset + limit);
      for (const table of tables) {
        let got: Rec[];
        try {
          got = table.select(q);
        } catch {
          // a bound of Infinity is refused nowhere; anything refused must be refused everywhere
          expect(() => tables[0].select(q)).toThrow();
          continue;
        }
        expect({ q: text(q), ids: ids([...got].sort(byKey)) }).toEqual({
          q: text(q),
          ids: ids([...expected].sort(byKey)),
        });
        expect({ q: text(q), count: table.count(q) }).toEqual({
          q: text(q),
          count: expected.length,
        });
        const ordered = table.select(q, { orderBy: { [f]: direction }, limit, offset });
        expect({ q: text(q), f, direction, limit, offset, ids: ids(ordered) }).toEqual({
          q: text(q),
          f,
          direction,
          limit,
          offset,
          ids: ids(page),
        });
        compared++;
      }
    }
  }
  return compared;
}

describe('query shapes against a plain filter (hostile)', () => {
  it('answers repeated shapes with values of every type like Array.filter, on every kind of table', () => {
    for (const seed of [1, 2, 3]) {
      const compared = run(['team', 'age', 'name'], [Plain, Indexed, OrderedSet], seed, 40, 1000);
      expect(compared).toBeGreaterThan(500);
    }
  });

  it('keeps answering right past one block of a sorted index (more than 1,024 records)', () => {
    expect(
      run(['team', 'age', 'name'], [Plain, Indexed, OrderedSet], 7, 2500, 300),
    ).toBeGreaterThan(100);
  });

  it('reads fields named like inherited methods as the records own fields, indexed or not', () => {
    expect(run(['toString', 'valueOf', '1'], [Plain, Inherited], 11, 40, 1200)).toBeGreaterThan(
      300,
    );
  });

  it('never reuses the remembered positions of another range: inclusive or not, -0, 5n, "5", a Date changed since', () => {
    const table = tableOf(Indexed);
    const plain = tableOf(Plain);
    const values: unknown[] = [4, 5, 5, 6, -0, 0, 5n, '5', '4', new Date(5), new Date(6), NaN];
    values.forEach((age, i) => {
      table.write({ id: `r${i}`, age });
      plain.write({ id: `r${i}`, age });
    });
    const when = new Date(5);
    const bounds: unknown[] = [5, 5, 0, -0, 0, 5n, '5', 5, when, when];
    const ops = ['$gt', '$gte', '$lt', '$lte'];
    for (let round = 0; round < 3; round++)
      for (const bound of bounds) {
        if (bound === when && round > 0) when.setTime(when.getTime() + 1); // the caller's Date moves
        for (const op of ops)
          for (const options of [undefined, { orderBy: { age: 'desc' as const }, limit: 2 }]) {
            const q = { age: { [op]: bound } };
            const want = plain.select(q, options).map((r) => r.id);
            const reference = plain
              .all()
              .filter((r) => matches(r, q))
              .map((r) => r.id);
            if (!options) expect(want.sort()).toEqual(reference.sort());
            const got = table.select(q, options).map((r) => r.id);
            expect({ op, bound: text(bound), got: options ? got : got.sort() }).toEqual({
              op,
              bound: text(bound),
              got: options ? want : want.sort(),
            });
            expect(table.count(q)).toBe(reference.length);
          }
      }
  });

  it('keeps no long value of a query alive: 400 shapes asked twice with 1 MB strings held 403 MB', () => {
    const table = tableOf(Plain);
    table.write({ id: 'a', team: 'red' });
    const long = (n: number) => `${n}:`.padEnd(4096, 'x');
    for (const value of [long(1), long(2)]) expect(table.select({ team: value })).toEqual([]);
    const compiled = table.compile({ team: long(3) });
    expect(compiled.template).toBeDefined(); // the shape is cached…
    const kept = compiled.template!.last?.values ?? [];
    expect(kept.filter((v) => typeof v === 'string' && v.length > 256)).toHaveLength(0); // …not its long value
    // a short value is still remembered, and its query reused
    const short = table.compile({ team: 'red' });
    expect(short.template!.last?.values).toEqual(['red']);
    expect(table.compile({ team: 'red' })).toBe(short);
    expect(table.select({ team: 'red' }).map((r) => r.id)).toEqual(['a']);
    expect(table.select({ team: long(3) })).toEqual([]);
  });

  it('caches no shape or code naming a field longer than 256 characters, and still answers', () => {
    // 400 queries naming 100,000-character fields held 147 MB in the caches
    const table = tableOf(Plain);
    const name = (n: number) => `f${n}`.padEnd(1000, 'x');
    table.write({ id: 'a', [name(1)]: 5, [name(2)]: 'x' });
    table.write({ id: 'b', [name(1)]: 7 });
    table.select({ team: 'warm' }); // a cached shape and code, so that the counts below are set
    table.select({ team: { $gt: 'warm' } });
    table.select({ team: { $in: ['warm'] } }); // the code of one leaf called as a predicate
    const shapes = cachedQueryShapes();
    const scans = cachedScanShapes();
    for (let round = 0; round < 3; round++) {
      expect(table.select({ [name(1)]: 5 }).map((r) => r.id)).toEqual(['a']);
      expect(table.select({ [name(1)]: { $gt: 5 } }).map((r) => r.id)).toEqual(['b']);
      expect(table.select([[name(2), '==', 'x']]).map((r) => r.id)).toEqual(['a']);
      expect(
        table
          .select({ [name(1)]: { $gte: 5 } }, { orderBy: { [name(1)]: 'desc' } })
          .map((r) => r.id),
      ).toEqual(['b', 'a']);
    }
    expect(cachedQueryShapes()).toBe(shapes);
    expect(cachedScanShapes()).toBe(scans);
  });
});
