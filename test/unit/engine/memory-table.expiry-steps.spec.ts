import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { DuplicateKeyError } from '../../../lib/errors/duplicate-key.error.js';
import { RecordNotFoundError } from '../../../lib/errors/record-not-found.error.js';
import { EXPIRY_SLICE, MemoryTable, type TableChange } from '../../../lib/engine/memory-table.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { keysOf, thrown } from '../test-helpers.js';

@Table({ name: 'mass_expiry' })
class Token {
  id!: string;
  @Index({ unique: true }) code = '';
  @Index() group = 'g0';
}

@Table({ name: 'mass_expiry_capped' })
class Capped {
  id!: string;
}

/** More than two steps' worth of records expire at once. */
const N = 2 * EXPIRY_SLICE + 500;
/** Records that do not expire. */
const LIVE = 50;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A step's timer that never moves: steps are bounded by EXPIRY_SLICE alone. */
const STILL = () => 0;

/**
 * A table where N records expire at once, and LIVE stay, on a clock the test moves; steps
 * of expiry read their time from `stepTimer`.
 */
function massExpiry(capacity?: number, stepTimer: () => number = STILL) {
  const clock = { time: 1_000_000, now: () => clock.time };
  const changes: TableChange<Token>[] = [];
  const table = new MemoryTable(getTableSchema(Token), {
    clock,
    onChange: (change) => changes.push(change),
    capacity: capacity === undefined ? undefined : { maxRecords: capacity, eviction: 'reject' },
    stepTimer,
  });
  for (let i = 0; i < N; i++)
    table.write({ id: `t${i}`, code: `c${i}`, group: `g${i % 3}` }, 1_000 + (i % 97));
  for (let i = 0; i < LIVE; i++) table.write({ id: `live${i}`, code: `L${i}`, group: 'g0' }, null);
  changes.length = 0;
  clock.time += 5_000;
  return { table, clock, changes };
}

/** What every read says, checked against the live records alone. */
function expectOnlyLive(table: MemoryTable<Token>, live: readonly string[]): void {
  expect(table.size).toBe(live.length);
  expect(table.count()).toBe(live.length);
  expect(keysOf(table.all())).toEqual([...live].sort());
  expect(table.keys().sort()).toEqual([...live].sort());
  expect(keysOf(table.select())).toEqual([...live].sort());
  expect(keysOf(table.select({ group: 'g1' }))).toEqual([]);
  expect(table.count({ group: 'g0' })).toBe(live.length);
  expect(table.get('t0')).toBeUndefined();
  expect(table.has('t1')).toBe(false);
  expect(table.ttl('t2')).toBeUndefined();
  expect(table.one({ code: 'c3' })).toBeUndefined();
  expect(table.select({ code: { $in: ['c4', 'c5'] } })).toEqual([]);
  expect(table.aggregate(undefined, { count: true })).toEqual([{ count: live.length }]);
}

const liveKeys = Array.from({ length: LIVE }, (_, i) => `live${i}`);

describe('MemoryTable: a mass expiry is removed in steps, hidden at once', () => {
  it('the first read removes one step and hides the rest; later turns remove them, each reported once', async () => {
    const { table, changes } = massExpiry();
    expect(table.get('t0')).toBeUndefined();
    expect(changes).toHaveLength(EXPIRY_SLICE); // one step of work, no more
    expect(table.rows.size).toBe(N + LIVE - EXPIRY_SLICE);
    expectOnlyLive(table, liveKeys);
    const version = table.version; // a transaction that queried now…
    await turn();
    expect(changes).toHaveLength(2 * EXPIRY_SLICE);
    expect(table.version).toBe(version); // …does not conflict with removing what it could not see
    expectOnlyLive(table, liveKeys);
    await turn();
    expect(changes).toHaveLength(N);
    expect(changes.every((c) => c.op === 'expire')).toBe(true);
    expect(new Set(changes.map((c) => c.key)).size).toBe(N);
    expect(table.rows.size).toBe(LIVE);
    expectOnlyLive(table, liveKeys);
    // every index answers as a scan does
    for (const group of ['g0', 'g1', 'g2'])
      expect(keysOf(table.select({ group }))).toEqual(
        keysOf([...table.rows.values()].filter((r) => r.group === group)),
      );
    const codes = table.indexes.get('code')!;
    for (const change of changes) expect([...codes.lookup(change.previous!.code)]).toEqual([]);
  });

  it('writes while expired records wait: their keys and unique values are free, each expires once', async () => {
    const { table, changes } = massExpiry();
    table.get('x'); // the first step; the rest wait, hidden
    const [waiting, deleted, codeHolder, rewritten] = [...table.rows.keys()].filter((k) =>
      String(k).startsWith('t'),
    ) as string[];
    const codeOf = (key: string) => table.rows.get(key)!.code;
    thrown(RecordNotFoundError, () => table.update(waiting, { group: 'g2' }));
    expect(table.delete(deleted)).toBeUndefined();
    table.insert({ id: waiting, code: 'new' }); // its key is free
    table.insert({ id: 'fresh', code: codeOf(codeHolder) }); // a unique value an expired one held
    table.writeMany([{ id: 'm1', code: 'm1' }, { id: rewritten }]);
    table.updateWhere({ group: 'g0' }, { group: 'g1' });
    thrown(DuplicateKeyError, () => table.insert({ id: 'dup', code: 'new' }));
    await turn();
    await turn();
    const ops = new Map<unknown, string[]>();
    for (const c of changes) ops.set(c.key, [...(ops.get(c.key) ?? []), c.op]);
    expect(ops.get(waiting)).toEqual(['expire', 'insert', 'update']);
    expect(ops.get(deleted)).toEqual(['expire']);
    expect(ops.get(codeHolder)).toEqual(['expire']);
    expect(ops.get(rewritten)).toEqual(['expire', 'insert', 'update']);
    expect([...changes].filter((c) => c.op === 'expire')).toHaveLength(N);
    const live = [...liveKeys, waiting, 'fresh', 'm1', rewritten];
    expect(keysOf(table.all())).toEqual(live.sort());
    expect(table.one({ code: `c${codeHolder.slice(1)}` })?.id).toBe('fresh');
    expect(keysOf(table.select({ group: 'g1' }))).toEqual(live.sort());
  });

  it('capacity counts only records that have not expired', () => {
    const { table } = massExpiry(N + LIVE);
    table.get('x');
    const more = Array.from({ length: EXPIRY_SLICE + 1 }, (_, i) => ({
      id: `n${i}`,
      code: `n${i}`,
    }));
    table.writeMany(more); // past the cap only with the expired records that wait
    expect(table.size).toBe(LIVE + more.length);
    expect(table.rows.size).toBe(LIVE + more.length);
  });

  it('deleteAll and a full expiry remove what waits at once', () => {
    const { table, changes } = massExpiry();
    table.get('x');
    expect(table.expire(Infinity)).toBe(N - EXPIRY_SLICE);
    expect(table.rows.size).toBe(LIVE);
    const second = massExpiry();
    second.table.get('x');
    second.table.deleteAll();
    expect(second.changes.filter((c) => c.op === 'expire')).toHaveLength(N);
    expect(second.changes.at(-1)?.op).toBe('clear');
    expect(changes.filter((c) => c.op === 'expire')).toHaveLength(N);
  });

  it('a step stops once its time is spent, the rest waiting hidden for later turns', async () => {
    let ms = 0;
    const { table, changes } = massExpiry(undefined, () => (ms += 1)); // 1 ms per look
    expect(table.get('t0')).toBeUndefined();
    const first = changes.length;
    expect(first).toBeGreaterThan(0); // a step always makes progress…
    expect(first).toBeLessThan(EXPIRY_SLICE); // …and stops at its time, before its count
    expect(table.rows.size).toBe(N + LIVE - first);
    expectOnlyLive(table, liveKeys);
    for (let turns = 0; turns < N && changes.length < N; turns++) await turn();
    expect(changes).toHaveLength(N);
    expect(new Set(changes.map((c) => c.key)).size).toBe(N);
    expect(changes.every((c) => c.op === 'expire')).toBe(true);
    expect(table.rows.size).toBe(LIVE);
    expectOnlyLive(table, liveKeys);
  });

  it('a full expiry is not cut by time', () => {
    let ms = 0;
    const { table } = massExpiry(undefined, () => (ms += 1));
    expect(table.expire(Infinity)).toBe(N);
    expect(table.rows.size).toBe(LIVE);
  });

  it('a small expiry still happens in full at the read that finds it', () => {
    const clock = { time: 0, now: () => clock.time };
    const table = new MemoryTable(getTableSchema(Capped), { clock, stepTimer: STILL });
    for (let i = 0; i < 100; i++) table.write({ id: `k${i}` }, 10);
    clock.time = 20;
    expect(table.expire()).toBe(100);
    expect(table.rows.size).toBe(0);
  });
});
