import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  DEFAULT_TRANSACTION_RETRIES,
  DuplicateKeyError,
  MemoryStoreError,
  MemoryStoreService,
  RecordNotFoundError,
  TransactionConflictError,
  type StoreChange,
} from 'nestjs-memory-store';
import type { Subscription } from 'rxjs';
import { createApp, delay, rejectionOf } from './fixtures/app.factory.js';
import {
  Account,
  AccountsStore,
  HoldsStore,
  LedgerStore,
  TransactionsAppModule,
} from './fixtures/transactions-app.module.js';

/** One turn of the event loop: change delivery (setImmediate) has happened after it. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test resolves when it wants: lets a transaction wait at a chosen point. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const ids = (records: readonly { id: string }[]) => records.map((r) => r.id).sort();

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

describe('transactions', () => {
  let app: INestApplication;
  let memory: MemoryStoreService;
  let accounts: AccountsStore;
  let ledger: LedgerStore;
  let holds: HoldsStore;
  const subscriptions: Subscription[] = [];

  beforeEach(async () => {
    app = await createApp(TransactionsAppModule.register());
    await app.init();
    memory = app.get(MemoryStoreService);
    accounts = app.get(AccountsStore);
    ledger = app.get(LedgerStore);
    holds = app.get(HoldsStore);
    await accounts.writeMany([
      { id: 'a', number: 'N-1', owner: 'ann', balance: 100 },
      { id: 'b', number: 'N-2', owner: 'bob', balance: 50 },
    ]);
    await turn();
  });

  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    await app?.close();
  });

  /** Every change of both stores from now on, in one list, in the order delivered. */
  function changesOfBoth(): StoreChange[] {
    const seen: StoreChange[] = [];
    subscriptions.push(
      accounts.changes().subscribe((c) => seen.push(c)),
      ledger.changes().subscribe((c) => seen.push(c)),
    );
    return seen;
  }

  const label = (c: StoreChange) => `${c.table} ${c.op} ${String(c.key)}`;

  describe('reads inside', () => {
    it('see the transaction’s own writes, across two stores, with every read', async () => {
      await memory.transaction(async () => {
        await accounts.insert({ id: 'c', number: 'N-3', owner: 'ann', balance: 10 });
        await accounts.update('a', { balance: 70 });
        await accounts.delete('b');
        await ledger.insert({ id: 'm1', account: 'a', amount: -30 });

        expect(accounts.get('a')?.balance).toBe(70);
        expect(accounts.get('b')).toBeUndefined();
        expect(accounts.get('c')).toMatchObject({ owner: 'ann', balance: 10 });
        expect(accounts.exists('b')).toBe(false);
        expect(accounts.exists('c')).toBe(true);
        expect(ids(accounts.select({ owner: 'ann' }))).toEqual(['a', 'c']);
        expect(accounts.select({ owner: 'bob' })).toEqual([]);
        expect(
          accounts
            .select({ balance: { $gte: 10 } }, { orderBy: { balance: 'desc' } })
            .map((r) => r.id),
        ).toEqual(['a', 'c']);
        expect(accounts.select({ number: 'N-2' })).toEqual([]);
        expect(accounts.select({ number: 'N-3' }).map((r) => r.id)).toEqual(['c']);
        expect(accounts.one({ balance: 10 })?.id).toBe('c');
        expect(accounts.one({ owner: 'bob' })).toBeUndefined();
        expect(accounts.count()).toBe(2);
        expect(accounts.count({ owner: 'ann' })).toBe(2);
        expect(ids(accounts.all())).toEqual(['a', 'c']);
        expect(accounts.keys().sort()).toEqual(['a', 'c']);
        expect(accounts.size).toBe(2);
        expect(accounts.total()).toBe(80);
        expect(accounts.aggregate(undefined, { count: true, sum: 'balance' })).toMatchObject({
          count: 2,
          sum: { balance: 80 },
        });
        expect(accounts.aggregate({}, { groupBy: 'owner', count: true, sum: 'balance' })).toEqual([
          { group: { owner: 'ann' }, count: 2, sum: { balance: 80 } },
        ]);
        expect(ledger.get('m1')).toMatchObject({ account: 'a', amount: -30 });
        expect(ledger.select({ account: 'a' }).map((m) => m.id)).toEqual(['m1']);
        expect(ledger.count()).toBe(1);
      });
    });

    it('see a record written twice as last written, and a deleted then re-inserted key', async () => {
      await memory.transaction(async () => {
        await accounts.update('a', (x) => ({ balance: x.balance + 1 }));
        await accounts.update('a', (x) => ({ balance: x.balance + 1 }));
        expect(accounts.get('a')?.balance).toBe(102);
        await accounts.delete('b');
        await accounts.insert({ id: 'b', owner: 'bea' });
        expect(accounts.get('b')).toMatchObject({ owner: 'bea', balance: 0 });
        expect(accounts.get('b')?.number).toBeUndefined();
      });
      expect(accounts.get('a')?.balance).toBe(102);
      expect(accounts.get('b')).toMatchObject({ owner: 'bea', balance: 0 });
    });

    it('see the time to live they staged, and the committed one where they staged none', async () => {
      await holds.write({ id: 'h1' }, { ttl: '1h' });
      await holds.write({ id: 'h2' }, { ttl: '2h' });
      await holds.write({ id: 'h3' });
      await memory.transaction(async () => {
        await holds.update('h1', { reason: 'shorter' }, { ttl: '1m' });
        await holds.update('h2', { reason: 'same deadline' });
        await holds.write({ id: 'h3' }, { ttl: 5_000 });
        await holds.write({ id: 'h4' }, { ttl: null });
        await holds.delete('h2');
        await holds.insert({ id: 'h2' }, { ttl: 50 });
        await holds.write({ id: 'h5' }, { ttl: '2h' });
        await holds.delete('h5');

        expect(holds.ttl('h1')).toBe(60_000);
        expect(holds.ttl('h2')).toBe(50);
        expect(holds.ttl('h3')).toBe(5_000);
        expect(holds.ttl('h4')).toBeUndefined();
        expect(holds.ttl('h5')).toBeUndefined();
        expect(holds.ttl('missing')).toBeUndefined();
      });
      expect(holds.ttl('h1')).toBeLessThanOrEqual(60_000);
      expect(holds.ttl('h1')).toBeGreaterThan(59_000);
      expect(holds.ttl('h3')).toBeGreaterThan(4_000);
    });

    it('see the committed time to live of a record they only updated', async () => {
      await holds.write({ id: 'h1' }, { ttl: '1h' });
      await memory.transaction(async () => {
        await holds.update('h1', { reason: 'kept' });
        expect(holds.ttl('h1')).toBeGreaterThan(3_590_000);
        expect(holds.ttl('h1')).toBeLessThanOrEqual(3_600_000);
      });
    });
  });

  describe('isolation and commit', () => {
    it('nothing is visible outside before the commit; the commit applies everything at once', async () => {
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(async () => {
        await accounts.update('a', { balance: 0 });
        await accounts.insert({ id: 'c', number: 'N-3', owner: 'cy', balance: 150 });
        await accounts.delete('b');
        await ledger.insert({ id: 'm1', account: 'a', amount: -100 });
        reached.open();
        await paused.opened;
        return 'result';
      });

      await reached.opened;
      // a concurrent reader, outside the transaction, while it waits
      expect(accounts.get('a')?.balance).toBe(100);
      expect(accounts.get('b')).toBeDefined();
      expect(accounts.get('c')).toBeUndefined();
      expect(accounts.exists('c')).toBe(false);
      expect(ids(accounts.all())).toEqual(['a', 'b']);
      expect(accounts.select({ owner: 'cy' })).toEqual([]);
      expect(accounts.one({ number: 'N-3' })).toBeUndefined();
      expect(accounts.count()).toBe(2);
      expect(accounts.size).toBe(2);
      expect(accounts.aggregate(undefined, { sum: 'balance' })).toMatchObject({
        sum: { balance: 150 },
      });
      expect(ledger.size).toBe(0);
      expect(ledger.get('m1')).toBeUndefined();

      paused.open();
      expect(await done).toBe('result');
      expect(accounts.get('a')?.balance).toBe(0);
      expect(accounts.get('b')).toBeUndefined();
      expect(accounts.get('c')?.balance).toBe(150);
      expect(accounts.select({ owner: 'cy' }).map((r) => r.id)).toEqual(['c']);
      expect(accounts.total()).toBe(150);
      expect(ledger.get('m1')).toMatchObject({ amount: -100 });
    });

    it('a write outside the transaction, meanwhile, is not seen as the transaction’s', async () => {
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(async () => {
        await accounts.update('b', { owner: 'bo' });
        reached.open();
        await paused.opened;
      });
      await reached.opened;
      await accounts.write({ id: 'z', owner: 'zed' });
      expect(accounts.get('b')?.owner).toBe('bob');
      paused.open();
      await done;
      expect(accounts.get('b')?.owner).toBe('bo');
      expect(accounts.get('z')?.owner).toBe('zed');
    });
  });

  describe('rollback', () => {
    it('a throw applies nothing in either store and rethrows the same error', async () => {
      const failure = new Error('changed my mind');
      const error = await rejectionOf(
        memory.transaction(async () => {
          await accounts.update('a', { balance: 0 });
          await accounts.insert({ id: 'c', number: 'N-3' });
          await accounts.delete('b');
          await accounts.writeMany([{ id: 'd' }, { id: 'e' }]);
          await ledger.insert({ id: 'm1', account: 'a', amount: -100 });
          await turn();
          throw failure;
        }),
      );
      expect(error).toBe(failure);
      expect(accounts.get('a')?.balance).toBe(100);
      expect(ids(accounts.all())).toEqual(['a', 'b']);
      expect(accounts.select({ owner: 'bob' }).map((r) => r.id)).toEqual(['b']);
      expect(ledger.size).toBe(0);
    });

    it('a rejected promise rolls back as a throw does', async () => {
      const error = await rejectionOf(
        memory.transaction(() =>
          accounts.update('a', { balance: 1 }).then(() => Promise.reject(new Error('no'))),
        ),
      );
      expect((error as Error).message).toBe('no');
      expect(accounts.get('a')?.balance).toBe(100);
    });

    it('leaves the unique index as it was: a value freed in the transaction is still taken', async () => {
      await rejectionOf(
        memory.transaction(async () => {
          await accounts.delete('a'); // frees N-1
          await accounts.update('b', { number: 'N-9' }); // frees N-2, takes N-9
          await accounts.insert({ id: 'c', number: 'N-1' }); // takes N-1
          throw new Error('rollback');
        }),
      );
      expect(await rejectionOf(accounts.insert({ id: 'x', number: 'N-1' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      expect(await rejectionOf(accounts.insert({ id: 'y', number: 'N-2' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
      await accounts.insert({ id: 'z', number: 'N-9' }); // never taken
      expect(accounts.one({ number: 'N-1' })?.id).toBe('a');
      expect(accounts.one({ number: 'N-2' })?.id).toBe('b');
      expect(accounts.one({ number: 'N-9' })?.id).toBe('z');
    });

    it('leaves time-to-live deadlines as they were', async () => {
      await holds.write({ id: 'h1' }, { ttl: '1h' });
      await holds.write({ id: 'h2' }, { ttl: '2h' });
      await holds.write({ id: 'h3' });
      const before = [holds.ttl('h1')!, holds.ttl('h2')!];

      await rejectionOf(
        memory.transaction(async () => {
          await holds.update('h1', { reason: 'x' }, { ttl: '1m' });
          await holds.delete('h2');
          await holds.update('h3', { reason: 'y' }, { ttl: 50 });
          await holds.write({ id: 'h4' }, { ttl: 50 });
          throw new Error('rollback');
        }),
      );
      expect(holds.ttl('h1')).toBeGreaterThan(before[0] - 1_000);
      expect(holds.ttl('h1')).toBeLessThanOrEqual(before[0]);
      expect(holds.ttl('h2')).toBeGreaterThan(before[1] - 1_000);
      expect(holds.ttl('h3')).toBeUndefined();
      expect(holds.get('h4')).toBeUndefined();
      await delay(80);
      expect(holds.get('h3')).toMatchObject({ reason: '' });
      expect(holds.sweep()).toBe(0);
    });

    it('does not roll back counters (documented: nextId is not part of a transaction)', async () => {
      await rejectionOf(
        memory.transaction(async () => {
          expect(await accounts.nextId('serial')).toBe(1);
          expect(await accounts.nextId('serial')).toBe(2);
          throw new Error('rollback');
        }),
      );
      expect(accounts.counter('serial')).toBe(2);
      expect(await accounts.nextId('serial')).toBe(3);
    });

    it('refuses dirty* writes inside: they would apply at once, outside its isolation', async () => {
      const error = await rejectionOf(
        memory.transaction(async () => {
          await accounts.write({ id: 'e', owner: 'clean' });
          accounts.dirtyWrite({ id: 'd', owner: 'dirty' });
        }),
      );
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toMatch(/dirtyWrite\(\) .* cannot run inside a transaction/);
      expect(accounts.get('d')).toBeUndefined();
      expect(accounts.get('e')).toBeUndefined();
    });
  });

  describe('nested transaction()', () => {
    it('joins the outer one: visible to it, invisible outside, committed with it', async () => {
      const paused = gate();
      const reached = gate();
      let innerAttempts = 0;
      const done = memory.transaction(async () => {
        await accounts.update('a', { balance: 90 });
        const inner = await memory.transaction(async () => {
          innerAttempts++;
          expect(accounts.get('a')?.balance).toBe(90);
          await ledger.insert({ id: 'm1', account: 'a', amount: -10 });
          return 'inner result';
        });
        expect(inner).toBe('inner result');
        expect(ledger.get('m1')).toBeDefined();
        reached.open();
        await paused.opened;
      });
      await reached.opened;
      expect(ledger.get('m1')).toBeUndefined();
      expect(accounts.get('a')?.balance).toBe(100);
      paused.open();
      await done;
      expect(innerAttempts).toBe(1);
      expect(ledger.get('m1')).toBeDefined();
      expect(accounts.get('a')?.balance).toBe(90);
    });

    it('a throw in the inner one rolls back everything, the outer writes too', async () => {
      const error = await rejectionOf(
        memory.transaction(async () => {
          await accounts.update('a', { balance: 90 });
          await memory.transaction(async () => {
            await ledger.insert({ id: 'm1', account: 'a', amount: -10 });
            throw new Error('inner failed');
          });
          await accounts.update('b', { balance: 60 });
        }),
      );
      expect((error as Error).message).toBe('inner failed');
      expect(accounts.get('a')?.balance).toBe(100);
      expect(accounts.get('b')?.balance).toBe(50);
      expect(ledger.size).toBe(0);
    });

    it('a throw in the inner one that the outer catches undoes the inner writes only', async () => {
      const seen = changesOfBoth();
      await memory.transaction(async () => {
        await accounts.update('a', { balance: 90 });
        const error = await rejectionOf(
          memory.transaction(async () => {
            await ledger.insert({ id: 'm1', account: 'a', amount: -10 });
            await accounts.update('a', { balance: 0 });
            await accounts.delete('b');
            throw new Error('inner failed');
          }),
        );
        expect((error as Error).message).toBe('inner failed');
        // the outer function sees the transaction as it was before the inner one
        expect(accounts.get('a')?.balance).toBe(90);
        expect(accounts.get('b')?.balance).toBe(50);
        expect(ledger.get('m1')).toBeUndefined();
        await accounts.update('b', { balance: 60 });
      });
      expect(accounts.get('a')?.balance).toBe(90);
      expect(accounts.get('b')?.balance).toBe(60);
      expect(ledger.size).toBe(0);
      await turn();
      expect(seen.map(label)).toEqual(['accounts update a', 'accounts update b']);
    });

    it('concurrent inner ones each undo only their own writes when they fail', async () => {
      const bStaged = gate();
      const bFailed = gate();
      const aStaged = gate();
      await memory.transaction(async () => {
        const results = await Promise.allSettled([
          memory.transaction(async () => {
            await bStaged.opened;
            await ledger.insert({ id: 'a1', account: 'a', amount: 1 }); // after B's
            aStaged.open();
            await bFailed.opened;
            await ledger.insert({ id: 'a2', account: 'a', amount: 2 }); // after B's undo
          }),
          memory
            .transaction(async () => {
              await ledger.insert({ id: 'b1', account: 'a', amount: 3 });
              bStaged.open();
              await aStaged.opened;
              throw new Error('B failed');
            })
            .finally(() => bFailed.open()),
          memory.transaction(async () => {
            await aStaged.opened;
            await ledger.insert({ id: 'c1', account: 'a', amount: 4 });
            await bFailed.opened;
            throw new Error('C failed');
          }),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      });
      expect(ledger.keys().sort()).toEqual(['a1', 'a2']);
    });

    it('an inner one inside a failing inner one is undone with it', async () => {
      await memory.transaction(async () => {
        await accounts.update('a', { balance: 90 });
        await rejectionOf(
          memory.transaction(async () => {
            await memory.transaction(async () => {
              await ledger.insert({ id: 'deep', account: 'a', amount: -10 });
            });
            await accounts.update('b', { balance: 0 });
            throw new Error('middle failed');
          }),
        );
      });
      expect(ledger.size).toBe(0);
      expect(accounts.get('a')?.balance).toBe(90);
      expect(accounts.get('b')?.balance).toBe(50);
    });

    it('fails the whole transaction when a failed inner one wrote a record written over since', async () => {
      const aWrote = gate();
      const bWrote = gate();
      const error = await rejectionOf(
        memory.transaction(async () => {
          await Promise.allSettled([
            memory.transaction(async () => {
              await accounts.update('a', { balance: 1 });
              aWrote.open();
              await bWrote.opened;
              throw new Error('A failed');
            }),
            memory.transaction(async () => {
              await aWrote.opened;
              await accounts.update('a', { balance: 2 });
              bWrote.open();
            }),
          ]);
          await ledger.insert({ id: 'm1', account: 'a', amount: 1 });
        }),
      );
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('nothing was committed');
      expect(accounts.get('a')?.balance).toBe(100);
      expect(ledger.size).toBe(0);
    });

    it('an inner one that succeeds after a failed one keeps its writes', async () => {
      await memory.transaction(async () => {
        await rejectionOf(
          memory.transaction(async () => {
            await ledger.insert({ id: 'm1', account: 'a', amount: -10 });
            throw new Error('first inner failed');
          }),
        );
        await memory.transaction(async () => {
          await ledger.insert({ id: 'm2', account: 'a', amount: -5 });
        });
      });
      expect(ledger.keys()).toEqual(['m2']);
    });
  });

  describe('the context of a transaction', () => {
    it('stays with each of two overlapping transactions, while one finishes before the other', async () => {
      const firstDone = gate();
      const second = memory.transaction(async () => {
        await accounts.update('a', { balance: 1 });
        await firstDone.opened; // the first transaction commits meanwhile
        await delay(5);
        expect(accounts.get('b')?.balance).toBe(2); // committed by the first
        await accounts.update('a', (x) => ({ balance: x.balance + 10 }));
        expect(accounts.get('a')?.balance).toBe(11);
      });
      await memory.transaction(async () => {
        await accounts.update('b', { balance: 2 });
        expect(accounts.get('a')?.balance).toBe(100); // the second's write is not seen
      });
      firstDone.open();
      await second;
      expect(accounts.get('a')?.balance).toBe(11);
      expect(accounts.get('b')?.balance).toBe(2);
    });

    it('leaves a continuation that outlives it to write at once, and comes back for the next ones', async () => {
      let detached: Promise<void> | undefined;
      const later = gate();
      await memory.transaction(async () => {
        await accounts.update('a', { balance: 1 });
        // not awaited: runs after the transaction committed, so writes at once
        detached = later.opened.then(async () => {
          await accounts.update('b', { balance: 5 });
        });
      });
      later.open();
      await detached;
      expect(accounts.get('b')?.balance).toBe(5);
      for (let round = 0; round < 3; round++) {
        const paused = gate();
        const reached = gate();
        const done = memory.transaction(async () => {
          await accounts.update('a', { balance: 20 + round });
          reached.open();
          await paused.opened;
          expect(accounts.get('a')?.balance).toBe(20 + round);
        });
        await reached.opened;
        expect(accounts.get('a')?.balance).toBe(round === 0 ? 1 : 19 + round);
        paused.open();
        await done;
        expect(accounts.get('a')?.balance).toBe(20 + round);
      }
    });
  });

  describe('changes of a transaction', () => {
    it('are delivered only after the commit, all of them, each store’s in the order written', async () => {
      const seen = changesOfBoth();
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(async () => {
        await accounts.update('a', { balance: 90 });
        await ledger.insert({ id: 'm1', account: 'a', amount: -10 });
        await accounts.insert({ id: 'c', owner: 'cy' });
        await turn();
        await accounts.update('b', { balance: 60 });
        await ledger.insert({ id: 'm2', account: 'b', amount: 10 });
        await accounts.delete('c');
        await accounts.insert({ id: 'd', owner: 'di' });
        await accounts.update('d', { balance: 5 });
        reached.open();
        await paused.opened;
      });
      await reached.opened;
      await turn();
      await turn();
      expect(seen).toEqual([]);

      paused.open();
      await done;
      await turn();

      // c was inserted and deleted within the transaction: nothing of it was committed
      expect(seen.filter((c) => c.table === 'accounts').map(label)).toEqual([
        'accounts update a',
        'accounts update b',
        'accounts insert d',
      ]);
      expect(seen.filter((c) => c.table === 'ledger').map(label)).toEqual([
        'ledger insert m1',
        'ledger insert m2',
      ]);
      const d = seen.find((c) => c.key === 'd')!;
      expect(d.record).toBe(accounts.get('d'));
      expect(d.diff).toMatchObject({ id: 'd', owner: 'di', balance: 5 });
      const a = seen.find((c) => c.key === 'a')!;
      expect(a.diff).toEqual({ balance: 90 });
      expect((a.previous as Account).balance).toBe(100);
    });

    it('follow the changes committed before them and come before those committed after', async () => {
      const seen = changesOfBoth();
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(async () => {
        await accounts.update('a', { balance: 90 });
        reached.open();
        await paused.opened;
      });
      await reached.opened;
      await accounts.insert({ id: 'before' });
      paused.open();
      await done;
      await accounts.insert({ id: 'after' });
      await turn();
      expect(seen.map(label)).toEqual([
        'accounts insert before',
        'accounts update a',
        'accounts insert after',
      ]);
    });

    it('are never delivered after a rollback', async () => {
      const seen = changesOfBoth();
      await rejectionOf(
        memory.transaction(async () => {
          await accounts.update('a', { balance: 0 });
          await ledger.insert({ id: 'm1', account: 'a', amount: -100 });
          await turn();
          throw new Error('rollback');
        }),
      );
      await turn();
      await turn();
      expect(seen).toEqual([]);
    });

    it('of a retried transaction are delivered once, from the attempt that committed', async () => {
      const seen = changesOfBoth();
      const paused = gate();
      const reached = gate();
      let attempts = 0;
      const done = memory.transaction(async () => {
        attempts++;
        const a = accounts.get('a')!;
        await ledger.insert({ id: `m-${attempts}`, account: 'a', amount: 1 });
        if (attempts === 1) {
          reached.open();
          await paused.opened;
        }
        await accounts.update('a', { balance: a.balance + 1 });
      });
      await reached.opened;
      await accounts.update('a', { balance: 200 });
      paused.open();
      await done;
      await turn();
      expect(attempts).toBe(2);
      expect(accounts.get('a')?.balance).toBe(201);
      expect(ledger.keys()).toEqual(['m-2']);
      // the outside update first; then the transaction's two changes (committed together)
      expect(seen.slice(0, 1).map(label)).toEqual(['accounts update a']);
      expect(seen.slice(1).map(label).sort()).toEqual(['accounts update a', 'ledger insert m-2']);
      expect((seen[0].record as Account).balance).toBe(200);
    });
  });

  describe('failing writes inside', () => {
    it('a unique clash between two writes of the transaction: DuplicateKeyError, nothing applied', async () => {
      const error = await rejectionOf(
        memory.transaction(async () => {
          await ledger.insert({ id: 'm1', account: 'c', amount: 1 });
          await accounts.insert({ id: 'c', number: 'N-7' });
          await accounts.insert({ id: 'd', number: 'N-7' });
        }),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ table: 'accounts', field: 'number', value: 'N-7' });
      expect(accounts.exists('c')).toBe(false);
      expect(accounts.exists('d')).toBe(false);
      expect(ledger.size).toBe(0);
    });

    it('a unique clash with a committed record: DuplicateKeyError, nothing applied', async () => {
      const error = await rejectionOf(
        memory.transaction(async () => {
          await accounts.update('a', { balance: 0 });
          await accounts.update('b', { number: 'N-1' });
        }),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(accounts.get('a')?.balance).toBe(100);
      expect(accounts.get('b')?.number).toBe('N-2');
    });

    it('unique values swapped within the transaction are no clash', async () => {
      await memory.transaction(async () => {
        await accounts.update('a', { number: 'N-2' });
        await accounts.update('b', { number: 'N-1' });
      });
      expect(accounts.one({ number: 'N-1' })?.id).toBe('b');
      expect(accounts.one({ number: 'N-2' })?.id).toBe('a');
      expect(await rejectionOf(accounts.insert({ id: 'x', number: 'N-1' }))).toBeInstanceOf(
        DuplicateKeyError,
      );
    });

    it('insert of an existing key rejects with DuplicateKeyError; uncaught, nothing is applied', async () => {
      const error = await rejectionOf(
        memory.transaction(async () => {
          await ledger.insert({ id: 'm1', account: 'a', amount: 1 });
          const clash = await rejectionOf(accounts.insert({ id: 'a' }));
          expect(clash).toBeInstanceOf(DuplicateKeyError);
          await accounts.insert({ id: 'c' });
          const again = await rejectionOf(accounts.insert({ id: 'c' }));
          expect(again).toBeInstanceOf(DuplicateKeyError);
          throw again;
        }),
      );
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ table: 'accounts', field: 'id', value: 'c' });
      expect(ledger.size).toBe(0);
      expect(accounts.exists('c')).toBe(false);
    });

    it('a caught DuplicateKeyError leaves the rest of the transaction to commit', async () => {
      await memory.transaction(async () => {
        await ledger.insert({ id: 'm1', account: 'a', amount: 1 });
        await rejectionOf(accounts.insert({ id: 'a', owner: 'impostor' }));
      });
      expect(ledger.get('m1')).toBeDefined();
      expect(accounts.get('a')?.owner).toBe('ann');
    });

    it('update of a missing key rejects with RecordNotFoundError (a key deleted in it too)', async () => {
      await memory.transaction(async () => {
        const missing = await rejectionOf(accounts.update('nobody', { balance: 1 }));
        expect(missing).toBeInstanceOf(RecordNotFoundError);
        expect(missing).toMatchObject({ table: 'accounts', key: 'nobody' });
        await accounts.delete('b');
        expect(await rejectionOf(accounts.update('b', { balance: 1 }))).toBeInstanceOf(
          RecordNotFoundError,
        );
      });
      expect(accounts.exists('b')).toBe(false);
    });
  });

  describe('every write joins', () => {
    it('update and delete by query, writeMany, withdraw, deleteAll', async () => {
      await accounts.writeMany([
        { id: 'c', owner: 'ann', balance: 1 },
        { id: 'd', owner: 'dan', balance: 2 },
      ]);
      await ledger.writeMany([
        { id: 'm1', account: 'a' },
        { id: 'm2', account: 'b' },
      ]);
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(async () => {
        const frozen = await accounts.update({ owner: 'ann' }, { frozen: true });
        expect(ids(frozen)).toEqual(['a', 'c']);
        expect(accounts.count({ frozen: true })).toBe(2);

        const deleted = await accounts.delete({ owner: 'bob' });
        expect(ids(deleted)).toEqual(['b']);
        expect(accounts.exists('b')).toBe(false);

        const written = await accounts.writeMany([
          { id: 'e', owner: 'eve' },
          { id: 'f', owner: 'eve' },
        ]);
        expect(ids(written)).toEqual(['e', 'f']);
        expect(accounts.count({ owner: 'eve' })).toBe(2);

        const withdrawn = await accounts.withdraw({ owner: 'dan' });
        expect(withdrawn?.id).toBe('d');
        expect(accounts.exists('d')).toBe(false);
        expect(await accounts.withdraw({ owner: 'dan' })).toBeUndefined();

        expect(await accounts.deleteMany({ owner: 'eve', id: 'f' })).toBe(1);
        expect(await ledger.deleteAll()).toBe(2);
        expect(ledger.size).toBe(0);
        expect(ledger.all()).toEqual([]);
        reached.open();
        await paused.opened;
      });

      await reached.opened;
      expect(ids(accounts.all())).toEqual(['a', 'b', 'c', 'd']);
      expect(accounts.count({ frozen: true })).toBe(0);
      expect(ledger.size).toBe(2);

      paused.open();
      await done;
      expect(ids(accounts.all())).toEqual(['a', 'c', 'e']);
      expect(ids(accounts.select({ frozen: true }))).toEqual(['a', 'c']);
      expect(ledger.size).toBe(0);
    });
  });

  describe('conflicts', () => {
    it('two concurrent transactions on the same record: one runs again, both effects apply', async () => {
      let runs = 0;
      const increment = () =>
        memory.transaction(async () => {
          runs++;
          const a = accounts.get('a')!;
          await turn();
          await accounts.update('a', { balance: a.balance + 1 });
        });
      await Promise.all([increment(), increment()]);
      expect(accounts.get('a')?.balance).toBe(102);
      expect(runs).toBe(3);
    });

    it('a counter incremented in 20 concurrent transactions ends 20 higher', async () => {
      const increment = (i: number) =>
        memory.transaction(
          async () => {
            const a = accounts.get('a')!;
            for (let k = 0; k < i % 3; k++) await turn();
            await accounts.update('a', { balance: a.balance + 1 });
          },
          { retries: 20 },
        );
      await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i)));
      expect(accounts.get('a')?.balance).toBe(120);
    });

    it(`a counter incremented in 20 concurrent transactions, with the default retries`, async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          memory.transaction(async () => {
            const a = accounts.get('a')!;
            await turn();
            await accounts.update('a', { balance: a.balance + 1 });
          }),
        ),
      );
      const committed = results.filter((r) => r.status === 'fulfilled').length;
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TransactionConflictError);
      }
      // whatever gave up applied nothing; whatever committed applied exactly once
      expect(accounts.get('a')?.balance).toBe(100 + committed);
    });

    it('a conflict with retries: 0 rejects with TransactionConflictError, applying nothing', async () => {
      const paused = gate();
      const reached = gate();
      let runs = 0;
      const done = memory.transaction(
        async () => {
          runs++;
          const a = accounts.get('a')!;
          await ledger.insert({ id: 'm1', account: 'a', amount: 1 });
          reached.open();
          await paused.opened;
          await accounts.update('a', { balance: a.balance + 1 });
        },
        { retries: 0 },
      );
      await reached.opened;
      await accounts.update('a', { balance: 500 });
      paused.open();
      const error = await rejectionOf(done);

      expect(error).toBeInstanceOf(TransactionConflictError);
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect(error).toMatchObject({ tables: ['accounts'], attempts: 1, table: 'accounts' });
      expect(runs).toBe(1);
      expect(accounts.get('a')?.balance).toBe(500);
      expect(ledger.size).toBe(0);
    });

    it('a record deleted meanwhile conflicts too, and so does a query of a table changed meanwhile', async () => {
      for (const [name, read, interfere] of [
        ['a read key deleted', () => accounts.get('b'), () => accounts.delete('b')],
        ['a missing key inserted', () => accounts.get('zz'), () => accounts.insert({ id: 'zz' })],
        ['a query', () => accounts.count({ owner: 'ann' }), () => accounts.write({ id: 'q' })],
        ['a blind write', () => undefined, () => accounts.update('a', { owner: 'al' })],
      ] as const) {
        const paused = gate();
        const reached = gate();
        const done = memory.transaction(
          async () => {
            read();
            await ledger.write({ id: name, account: 'x' });
            await accounts.update('a', { frozen: true });
            reached.open();
            await paused.opened;
          },
          { retries: 0 },
        );
        await reached.opened;
        await interfere();
        paused.open();
        const error = await rejectionOf(done);
        expect({ name, error }).toEqual({ name, error: expect.any(TransactionConflictError) });
        expect(ledger.exists(name)).toBe(false);
        expect(accounts.get('a')?.frozen).toBe(false);
      }
    });

    it('a key read twice reads the same both times (repeatable reads), whatever happens meanwhile', async () => {
      const paused = gate();
      const reached = gate();
      const views: string[] = [];
      const done = memory.transaction(
        async () => {
          const first = accounts.exists('k');
          reached.open();
          await paused.opened;
          const second = accounts.exists('k');
          views.push(`${first}/${second}`);
          await ledger.write({ id: 'view', account: `${first}/${second}` });
        },
        { retries: 0 },
      );
      await reached.opened;
      await accounts.insert({ id: 'k' });
      paused.open();
      await Promise.resolve();
      await accounts.delete('k');
      const outcome = await done.then(
        () => 'committed',
        (error: unknown) => error,
      );

      // The transaction never sees 'k' both absent and present; 'k' is absent again at the
      // commit, so the transaction serialises before the insert and may commit.
      expect(views).toEqual(['false/false']);
      expect(outcome).toBe('committed');
      expect(ledger.get('view')?.account).toBe('false/false');
    });

    it('a key read absent that is present at the commit conflicts', async () => {
      const paused = gate();
      const reached = gate();
      const done = memory.transaction(
        async () => {
          const seen = accounts.exists('k');
          reached.open();
          await paused.opened;
          await ledger.write({ id: 'view', account: String(seen) });
        },
        { retries: 0 },
      );
      await reached.opened;
      await accounts.insert({ id: 'k' });
      paused.open();
      expect(await rejectionOf(done)).toBeInstanceOf(TransactionConflictError);
      expect(ledger.get('view')).toBeUndefined();
    });

    it('unrelated records do not conflict', async () => {
      const paused = gate();
      const reached = gate();
      let runs = 0;
      const done = memory.transaction(
        async () => {
          runs++;
          const a = accounts.get('a')!;
          reached.open();
          await paused.opened;
          await accounts.update('a', { balance: a.balance + 1 });
        },
        { retries: 0 },
      );
      await reached.opened;
      await accounts.update('b', { balance: 1 });
      await accounts.insert({ id: 'new' });
      await ledger.insert({ id: 'm1', account: 'b' });
      paused.open();
      await done;
      expect(runs).toBe(1);
      expect(accounts.get('a')?.balance).toBe(101);
    });

    it(`gives up after ${DEFAULT_TRANSACTION_RETRIES} retries by default, applying nothing`, async () => {
      let runs = 0;
      let stop = false;
      // a writer outside any transaction changes the record again and again
      const writer = (async () => {
        while (!stop) {
          accounts.dirtyUpdate('a', (a) => ({ balance: a.balance + 1 }));
          await turn();
        }
      })();
      const error = await rejectionOf(
        memory.transaction(async () => {
          runs++;
          const a = accounts.get('a')!;
          await ledger.write({ id: `m${runs}`, account: 'a' });
          await delay(5);
          await accounts.update('a', { owner: `${a.owner}!` });
        }),
      );
      stop = true;
      await writer;
      expect(error).toBeInstanceOf(TransactionConflictError);
      expect(error).toMatchObject({ attempts: DEFAULT_TRANSACTION_RETRIES + 1 });
      expect(runs).toBe(DEFAULT_TRANSACTION_RETRIES + 1);
      expect(accounts.get('a')?.owner).toBe('ann');
      expect(ledger.size).toBe(0);
    });
  });

  describe('transfers between accounts', () => {
    /** Moves money from one account to another, reading both first, pausing where told. */
    function transfer(
      from: string,
      to: string,
      amount: number,
      pause: () => Promise<void>,
      retries: number,
    ) {
      return memory.transaction(
        async () => {
          const source = accounts.get(from)!;
          await pause();
          const target = accounts.get(to)!;
          await pause();
          await accounts.update(from, { balance: source.balance - amount });
          await pause();
          await accounts.update(to, { balance: target.balance + amount });
          await ledger.insert({ id: `${from}>${to}:${amount}`, account: from, amount });
        },
        { retries },
      );
    }

    it('two concurrent transfers neither lose nor create money', async () => {
      const paused = gate();
      await Promise.all([
        transfer('a', 'b', 30, () => paused.opened, 5),
        transfer('b', 'a', 20, () => paused.opened, 5),
        (async () => {
          await turn();
          expect(accounts.total()).toBe(150);
          paused.open();
        })(),
      ]);
      expect(accounts.get('a')?.balance).toBe(90);
      expect(accounts.get('b')?.balance).toBe(60);
      expect(accounts.total()).toBe(150);
      expect(ledger.size).toBe(2);
    });

    it('many random concurrent transfers keep the sum and end as the serial result', async () => {
      const rand = random(20260301);
      const names = ['a', 'b', 'c', 'd', 'e'];
      await accounts.writeMany([
        { id: 'c', balance: 300 },
        { id: 'd', balance: 0 },
        { id: 'e', balance: 1_000 },
      ]);
      const initial = Object.fromEntries(names.map((n) => [n, accounts.get(n)!.balance]));
      const total = accounts.total();

      const pauses = [
        () => Promise.resolve(),
        () => turn(),
        () => delay(Math.floor(rand() * 3)),
        async () => {
          await Promise.resolve();
          await Promise.resolve();
        },
      ];
      const pause = () => pauses[Math.floor(rand() * pauses.length)]();
      const planned = Array.from({ length: 60 }, (_, i) => {
        const from = names[Math.floor(rand() * names.length)];
        let to = names[Math.floor(rand() * names.length)];
        if (to === from) to = names[(names.indexOf(from) + 1) % names.length];
        return { from, to, amount: 1 + Math.floor(rand() * 100) + i * 1_000 };
      });

      // an outside observer checks the sum on every turn while the transfers run
      let running = true;
      const sums: number[] = [];
      const observer = (async () => {
        while (running) {
          sums.push(accounts.total());
          await turn();
        }
      })();
      await Promise.all(
        planned.map(({ from, to, amount }) => transfer(from, to, amount, pause, planned.length)),
      );
      running = false;
      await observer;

      const serial = { ...initial };
      for (const { from, to, amount } of planned) {
        serial[from] -= amount;
        serial[to] += amount;
      }
      expect(Object.fromEntries(names.map((n) => [n, accounts.get(n)!.balance]))).toEqual(serial);
      expect(accounts.total()).toBe(total);
      expect(new Set(sums)).toEqual(new Set([total]));
      expect(sums.length).toBeGreaterThan(1);
      expect(ledger.size).toBe(planned.length);
    });
  });
});
