/**
 * Model test of transactions: random concurrent transactions over two stores, interleaved by
 * fast-check's scheduler, with plain (non-transactional) writers beside them. Each attempt of
 * each transaction records every value it read and every value it wrote; some throw at the
 * end. Whatever the interleaving, the outcome must be serialisable (API.md section 6): there
 * is SOME serial order of the committed transactions and the outside writes in which every
 * read of every committed transaction sees exactly what it saw, and which ends in the state
 * the stores hold. Rolled-back transactions leave no trace, and reads see the transaction's
 * own writes.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import {
  MemoryStoreService,
  TransactionConflictError,
  type MemoryStore,
} from 'nestjs-memory-store';
import { createApp } from '../e2e/fixtures/app.factory.js';
import { CellsAppModule, CellsStore, CounterCellsStore } from '../e2e/fixtures/cells-app.module.js';

// ---- the model ----------------------------------------------------------------------------

const KEYS = ['cells/c0', 'cells/c1', 'counters/n0'] as const;
type Key = (typeof KEYS)[number];
/** A key's value: a number, or null when there is no record. */
type Value = number | null;
type State = Record<Key, Value>;

type Op =
  | { t: 'get'; key: Key }
  | { t: 'exists'; key: Key }
  | { t: 'scan'; store: 'cells' | 'counters' }
  | { t: 'count'; store: 'cells' | 'counters'; min: number }
  /** Writes the sum of everything read so far in the attempt plus `add`. */
  | { t: 'write'; key: Key; add: number }
  | { t: 'delete'; key: Key }
  | { t: 'pause' }
  /** Reads again, by key, every key the attempt read before. */
  | { t: 'again' };

interface TxActor {
  kind: 'tx';
  ops: Op[];
  fails: boolean;
}

interface OutsideActor {
  kind: 'outside';
  /** Each a write (a value) or a delete (null), after a scheduled pause. */
  steps: { key: Key; value: Value }[];
}

type Actor = TxActor | OutsideActor;

/** What one unit of the serial history did: the reads it made (in order) and its writes. */
interface Unit {
  name: string;
  /** Reads of a key's value, or of a count of a store's records with value >= min. */
  reads: ({ key: Key; value: Value } | { store: string; min: number; count: number })[];
  writes: Map<Key, Value>;
  /** Reads of the transaction's own writes that did not see them. */
  problems?: string[];
}

const keyArb = fc.constantFrom(...KEYS);
const storeArb = fc.constantFrom<'cells' | 'counters'>('cells', 'counters');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: keyArb.map((key) => ({ t: 'get' as const, key })) },
  { weight: 1, arbitrary: keyArb.map((key) => ({ t: 'exists' as const, key })) },
  { weight: 1, arbitrary: storeArb.map((store) => ({ t: 'scan' as const, store })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ store: storeArb, min: fc.integer({ min: 0, max: 20 }) })
      .map((o) => ({ t: 'count' as const, ...o })),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({ key: keyArb, add: fc.integer({ min: 1, max: 9 }) })
      .map((o) => ({ t: 'write' as const, ...o })),
  },
  { weight: 2, arbitrary: keyArb.map((key) => ({ t: 'delete' as const, key })) },
  { weight: 4, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'again' as const }) },
);
const txArb: fc.Arbitrary<Actor> = fc.record({
  kind: fc.constant('tx' as const),
  ops: fc.array(opArb, { minLength: 1, maxLength: 8 }),
  fails: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});
const outsideArb: fc.Arbitrary<Actor> = fc.record({
  kind: fc.constant('outside' as const),
  steps: fc.array(
    fc.record({ key: keyArb, value: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }) }),
    { minLength: 1, maxLength: 3 },
  ),
});
/** A record that appears and disappears again: a classic trap for change detection (ABA). */
const flickerArb: fc.Arbitrary<Actor> = fc
  .record({ key: keyArb, value: fc.integer({ min: 0, max: 30 }) })
  .map(({ key, value }) => ({
    kind: 'outside' as const,
    steps: [
      { key, value },
      { key, value: null },
    ],
  }));
const actorsArb = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: txArb },
    { weight: 1, arbitrary: outsideArb },
    { weight: 1, arbitrary: flickerArb },
  ),
  { minLength: 2, maxLength: 6 },
);
const initialArb: fc.Arbitrary<State> = fc.record(
  Object.fromEntries(
    KEYS.map((k) => [k, fc.option(fc.integer({ min: 0, max: 20 }), { nil: null, freq: 2 })]),
  ) as Record<Key, fc.Arbitrary<Value>>,
);

const storeOf = (key: Key) => key.split('/')[0] as 'cells' | 'counters';
const idOf = (key: Key) => key.split('/')[1];

/** Replays `unit` over `state`: undefined if one of its reads disagrees, else the new state. */
function replay(state: State, unit: Unit): State | undefined {
  for (const read of unit.reads) {
    if ('key' in read) {
      if (state[read.key] !== read.value) return undefined;
    } else {
      const count = KEYS.filter(
        (k) => storeOf(k) === read.store && state[k] !== null && state[k] >= read.min,
      ).length;
      if (count !== read.count) return undefined;
    }
  }
  const next = { ...state };
  for (const [key, value] of unit.writes) next[key] = value;
  return next;
}

/**
 * A serial order of the units that explains every read and ends in `final`, or undefined.
 * Depth-first, remembering dead ends (a set of units left and a state).
 */
function serialOrder(initial: State, units: Unit[], final: State): Unit[] | undefined {
  const dead = new Set<string>();
  const search = (state: State, left: number, order: Unit[]): Unit[] | undefined => {
    if (left === 0) return KEYS.every((k) => state[k] === final[k]) ? order : undefined;
    const memo = `${left}|${JSON.stringify(state)}`;
    if (dead.has(memo)) return undefined;
    for (let i = 0; i < units.length; i++) {
      if (!(left & (1 << i))) continue;
      const next = replay(state, units[i]);
      if (!next) continue;
      const found = search(next, left & ~(1 << i), [...order, units[i]]);
      if (found) return found;
    }
    dead.add(memo);
    return undefined;
  };
  return search(initial, (1 << units.length) - 1, []);
}

// ---- the system under test ------------------------------------------------------------------

describe('transactions (model test with a scheduler)', () => {
  let app: INestApplication;
  let memory: MemoryStoreService;
  let stores: Record<'cells' | 'counters', MemoryStore<{ id: string; value: number }>>;

  beforeAll(async () => {
    app = await createApp(CellsAppModule.register());
    await app.init();
    memory = app.get(MemoryStoreService);
    stores = { cells: app.get(CellsStore), counters: app.get(CounterCellsStore) };
  });

  afterAll(async () => {
    await app?.close();
  });

  const valueOf = (key: Key): Value => stores[storeOf(key)].get(idOf(key))?.value ?? null;
  const snapshot = (): State => Object.fromEntries(KEYS.map((k) => [k, valueOf(k)])) as State;

  it('the outcome of concurrent transactions is that of some serial order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), actorsArb, initialArb, async (s, actors, initial) => {
        for (const store of Object.values(stores)) store.dirtyDeleteAll();
        for (const key of KEYS) {
          const value = initial[key];
          if (value !== null) stores[storeOf(key)].dirtyWrite({ id: idOf(key), value });
        }

        const units: Unit[] = [];
        const problems: string[] = [];
        const pause = () => s.schedule(Promise.resolve());

        const runTx = async (actor: TxActor, n: number) => {
          let attempt: Unit | undefined;
          await memory.transaction(
            async () => {
              const unit: Unit = (attempt = {
                name: `tx${n}`,
                reads: [],
                writes: new Map(),
                problems: [],
              });
              const problem = (text: string) => unit.problems!.push(text);
              let sum = 0;
              /** A read: of its own write if it made one, else recorded for the model. */
              const read = (key: Key, value: Value) => {
                if (unit.writes.has(key)) {
                  if (unit.writes.get(key) !== value)
                    problem(`tx${n} read ${key}=${value}, but wrote ${unit.writes.get(key)}`);
                } else unit.reads.push({ key, value });
                sum += value ?? 0;
              };
              for (const op of actor.ops) {
                switch (op.t) {
                  case 'pause':
                    await pause();
                    break;
                  case 'again':
                    for (const key of new Set(
                      unit.reads.flatMap((r) => ('key' in r ? [r.key] : [])),
                    ))
                      read(key, stores[storeOf(key)].get(idOf(key))?.value ?? null);
                    break;
                  case 'get':
                    read(op.key, stores[storeOf(op.key)].get(idOf(op.key))?.value ?? null);
                    break;
                  case 'exists': {
                    const exists = stores[storeOf(op.key)].exists(idOf(op.key));
                    const own = unit.writes.get(op.key);
                    if (unit.writes.has(op.key)) {
                      if (exists !== (own !== null))
                        problem(`tx${n} exists(${op.key}) = ${exists} after writing ${own}`);
                    } else if (!exists) unit.reads.push({ key: op.key, value: null });
                    else {
                      // exists: the value is unknown to the model, read it
                      read(op.key, stores[storeOf(op.key)].get(idOf(op.key))!.value);
                    }
                    break;
                  }
                  case 'scan': {
                    const seen = new Map(
                      stores[op.store].select().map((r) => [`${op.store}/${r.id}` as Key, r.value]),
                    );
                    for (const key of KEYS.filter((k) => storeOf(k) === op.store))
                      read(key, seen.get(key) ?? null);
                    break;
                  }
                  case 'count': {
                    const count = stores[op.store].count({ value: { $gte: op.min } });
                    const owned = KEYS.filter((k) => storeOf(k) === op.store && unit.writes.has(k));
                    if (owned.length === 0)
                      unit.reads.push({ store: op.store, min: op.min, count });
                    break;
                  }
                  case 'write': {
                    const value = sum + op.add;
                    await stores[storeOf(op.key)].write({ id: idOf(op.key), value });
                    unit.writes.set(op.key, value);
                    break;
                  }
                  case 'delete':
                    await stores[storeOf(op.key)].delete(idOf(op.key));
                    unit.writes.set(op.key, null);
                    break;
                }
              }
              if (actor.fails) {
                await pause();
                throw new Error(`tx${n} fails`);
              }
            },
            { retries: 50 },
          );
          // only the attempt that committed counts: earlier ones were discarded
          problems.push(...attempt!.problems!);
          units.push(attempt!);
        };

        const runOutside = async (actor: OutsideActor, n: number) => {
          for (const [i, { key, value }] of actor.steps.entries()) {
            await pause();
            const store = stores[storeOf(key)];
            if (value === null) store.dirtyDelete(idOf(key));
            else store.dirtyWrite({ id: idOf(key), value });
            units.push({ name: `outside${n}.${i}`, reads: [], writes: new Map([[key, value]]) });
          }
        };

        const outcomes = await s.waitFor(
          Promise.allSettled(
            actors.map((actor, n) =>
              actor.kind === 'tx' ? runTx(actor, n) : runOutside(actor, n),
            ),
          ),
        );
        await s.waitIdle();

        for (const [n, outcome] of outcomes.entries()) {
          if (outcome.status === 'fulfilled') continue;
          const actor = actors[n];
          const expected =
            actor.kind === 'tx' &&
            ((actor.fails && (outcome.reason as Error).message === `tx${n} fails`) ||
              outcome.reason instanceof TransactionConflictError);
          if (!expected) problems.push(`actor ${n} failed: ${String(outcome.reason)}`);
        }
        expect(problems).toEqual([]);

        const final = snapshot();
        const order = serialOrder(initial, units, final);
        if (!order) {
          throw new Error(
            `no serial order of ${units.length} committed units explains the outcome\n` +
              `initial ${JSON.stringify(initial)}\nfinal ${JSON.stringify(final)}\n` +
              units
                .map(
                  (u) =>
                    `${u.name}: reads ${JSON.stringify(u.reads)} writes ${JSON.stringify([...u.writes])}`,
                )
                .join('\n'),
          );
        }
      }),
      { numRuns: 5000 },
    );
  }, 30_000);
});
