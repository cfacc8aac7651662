/**
 * Model test of one store through its public API: random sequences of writes, inserts,
 * updates (patches and functions), deletes, update functions that call the store back (a
 * re-entrant write, refused), inserts that a change listener answers with a write of its own
 * (applied after the write it reports), and time moving past deadlines. After every step the
 * store must equal a plain model (a map of records with deadlines), and every index must
 * answer exactly as a scan of the records does.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import {
  DuplicateKeyError,
  Index,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  RecordNotFoundError,
  Store,
  Table,
} from 'nestjs-memory-store';
import type { Subscription } from 'rxjs';
import { createApp, fakeDateOnly } from '../e2e/fixtures/app.factory.js';

@Table({ name: 'model_people', indexes: ['team'] })
class Person {
  id!: string;
  @Index({ unique: true }) email?: string;
  team = 'a';
  n = 0;
}

@Store({ table: Person, ttl: { sweep: { everyMs: 3_600_000 }, resolution: 0 } })
class PeopleStore extends MemoryStore<Person> {}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore] })] })
class ModelAppModule {}

// ---- the model ----------------------------------------------------------------------------

interface Row {
  email: string | undefined;
  team: string;
  n: number;
  /** When the record expires (the fake clock's time), or null. */
  deadline: number | null;
}

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];
/** Inserting one of these makes the listener write `audit-<key>`. */
const LISTENED = ['L0', 'L1'];
const EMAILS = ['e0', 'e1', 'e2', 'e3'];
const TEAMS = ['a', 'b', 'c'];

type Command =
  | { t: 'write'; key: string; email?: string; team: string; ttl: number | null }
  | { t: 'insert'; key: string; email?: string; team: string; ttl: number | null }
  | { t: 'patch'; key: string; email?: string; team?: string }
  | { t: 'updateFn'; key: string; reenter: 'none' | 'write' | 'delete' }
  | { t: 'delete'; key: string }
  | { t: 'listened'; key: string; email?: string }
  | { t: 'advance'; ms: number };

const keyArb = fc.constantFrom(...KEYS);
const emailArb = fc.option(fc.constantFrom(...EMAILS), { nil: undefined });
const teamArb = fc.constantFrom(...TEAMS);
const ttlArb = fc.constantFrom<number | null>(null, null, 50, 200);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      key: keyArb,
      email: emailArb,
      team: teamArb,
      ttl: ttlArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('insert' as const),
      key: keyArb,
      email: emailArb,
      team: teamArb,
      ttl: ttlArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      { t: fc.constant('patch' as const), key: keyArb, email: emailArb, team: teamArb },
      { requiredKeys: ['t', 'key'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('updateFn' as const),
      key: keyArb,
      reenter: fc.constantFrom<'none' | 'write' | 'delete'>('none', 'write', 'delete'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('listened' as const),
      key: fc.constantFrom(...LISTENED),
      email: emailArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.constantFrom(0, 30, 60, 150, 250),
    }),
  },
);

/** Lets the change hub deliver, and a listener's write settle. */
const delivered = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('a store against a model (fast-check)', () => {
  let app: INestApplication;
  let people: PeopleStore;
  let subscription: Subscription;
  const listenerErrors: unknown[] = [];

  beforeAll(async () => {
    fakeDateOnly(1_000_000_000);
    app = await createApp(ModelAppModule);
    await app.init();
    people = app.get(PeopleStore);
    // a listener that answers the insert of a listened key with a write to the same store
    subscription = people.changes({ op: 'insert' }).subscribe((change) => {
      if (!LISTENED.includes(String(change.key))) return;
      people
        .write({ id: `audit-${String(change.key)}`, team: 'audit' })
        .catch((error: unknown) => listenerErrors.push(error));
    });
  });

  afterAll(async () => {
    subscription.unsubscribe();
    await app.close();
    jest.useRealTimers();
  });

  /** Live rows of the model at the fake clock's time. */
  function live(model: Map<string, Row>): Map<string, Row> {
    const now = Date.now();
    for (const [key, row] of model)
      if (row.deadline !== null && row.deadline <= now) model.delete(key);
    return model;
  }

  function emailHolder(model: Map<string, Row>, email: string | undefined, except: string) {
    if (email === undefined) return undefined;
    for (const [key, row] of model) if (key !== except && row.email === email) return key;
    return undefined;
  }

  /** The store equals the model, and each index answers as a scan of the records does. */
  function check(model: Map<string, Row>): void {
    live(model);
    const all = people.all();
    const summary = (r: Person) => [r.id, r.email, r.team, r.n];
    expect(all.map(summary).sort()).toEqual(
      [...model].map(([key, row]) => [key, row.email, row.team, row.n]).sort(),
    );
    expect(people.size).toBe(model.size);
    expect(people.count()).toBe(model.size);
    for (const key of [...KEYS, ...LISTENED, ...LISTENED.map((k) => `audit-${k}`)]) {
      expect(people.get(key)?.id).toBe(model.has(key) ? key : undefined);
      const ttl = people.ttl(key);
      const deadline = model.get(key)?.deadline ?? null;
      if (deadline === null) expect(ttl).toBeUndefined();
      else expect(ttl).toBe(deadline - Date.now());
    }
    for (const email of EMAILS) {
      const scan = all.filter((r) => r.email === email).map((r) => r.id);
      expect(people.select({ email }).map((r) => r.id)).toEqual(scan);
      expect(people.one({ email })?.id).toBe(scan[0]);
      expect(scan.length).toBeLessThanOrEqual(1);
    }
    for (const team of [...TEAMS, 'audit']) {
      const scan = all
        .filter((r) => r.team === team)
        .map((r) => r.id)
        .sort();
      expect(
        people
          .select({ team })
          .map((r) => r.id)
          .sort(),
      ).toEqual(scan);
      expect(people.count({ team })).toBe(scan.length);
    }
    const byIn = people
      .select({ team: { $in: ['a', 'b'] } })
      .map((r) => r.id)
      .sort();
    expect(byIn).toEqual(
      all
        .filter((r) => r.team === 'a' || r.team === 'b')
        .map((r) => r.id)
        .sort(),
    );
  }

  async function run(command: Command, model: Map<string, Row>): Promise<void> {
    live(model);
    const now = Date.now();
    switch (command.t) {
      case 'write':
      case 'insert': {
        const { key, email, team, ttl } = command;
        const input = { id: key, team, ...(email === undefined ? {} : { email }) };
        const options = { ttl };
        const promise =
          command.t === 'write' ? people.write(input, options) : people.insert(input, options);
        if (command.t === 'insert' && model.has(key)) {
          await expect(promise).rejects.toBeInstanceOf(DuplicateKeyError);
        } else if (emailHolder(model, email, key) !== undefined) {
          await expect(promise).rejects.toBeInstanceOf(DuplicateKeyError);
        } else {
          await promise;
          model.set(key, { email, team, n: 0, deadline: ttl === null ? null : now + ttl });
        }
        return;
      }
      case 'patch': {
        const { key, email, team } = command;
        const patch = {
          ...(email === undefined ? {} : { email }),
          ...(team === undefined ? {} : { team }),
        };
        const promise = people.update(key, patch);
        const row = model.get(key);
        if (!row) await expect(promise).rejects.toBeInstanceOf(RecordNotFoundError);
        else if (emailHolder(model, email, key) !== undefined)
          await expect(promise).rejects.toBeInstanceOf(DuplicateKeyError);
        else {
          await promise;
          model.set(key, { ...row, ...patch });
        }
        return;
      }
      case 'updateFn': {
        const { key, reenter } = command;
        let inner: unknown;
        const promise = people.update(key, (current) => {
          try {
            if (reenter === 'write') people.dirtyWrite({ id: 'k0', email: 'e0', team: 'c' });
            if (reenter === 'delete') people.dirtyDelete(key);
          } catch (error) {
            inner = error;
          }
          return { n: current.n + 1 };
        });
        const row = model.get(key);
        if (!row) {
          await expect(promise).rejects.toBeInstanceOf(RecordNotFoundError);
          return;
        }
        await promise;
        model.set(key, { ...row, n: row.n + 1 });
        if (reenter !== 'none') {
          expect(inner).toBeInstanceOf(MemoryStoreError);
          expect((inner as Error).message).toContain('inside update()');
        }
        return;
      }
      case 'delete': {
        const removed = await people.delete(command.key);
        expect(removed?.id).toBe(model.has(command.key) ? command.key : undefined);
        model.delete(command.key);
        return;
      }
      case 'listened': {
        const { key, email } = command;
        const promise = people.insert({ id: key, ...(email === undefined ? {} : { email }) });
        if (model.has(key) || emailHolder(model, email, key) !== undefined) {
          await expect(promise).rejects.toBeInstanceOf(DuplicateKeyError);
          return;
        }
        await promise;
        model.set(key, { email, team: 'a', n: 0, deadline: null });
        await delivered(); // the listener's own write, applied after the insert it reports
        model.set(`audit-${key}`, { email: undefined, team: 'audit', n: 0, deadline: null });
        return;
      }
      case 'advance':
        jest.setSystemTime(now + command.ms);
        return;
    }
  }

  it('equals the model and keeps every index equal to a scan after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { maxLength: 40 }), async (commands) => {
        await people.deleteAll();
        await delivered();
        const model = new Map<string, Row>();
        for (const command of commands) {
          await run(command, model);
          check(model);
        }
        expect(listenerErrors).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
