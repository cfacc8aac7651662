import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  DEFAULT_TRANSACTION_TIMEOUT_MS,
  MemoryStoreError,
  MemoryStoreService,
  TransactionTimeoutError,
  type StoreChange,
} from 'nestjs-memory-store';
import { createApp, delay, rejectionOf } from './fixtures/app.factory.js';
import {
  AccountsStore,
  LedgerStore,
  TransactionsAppModule,
} from './fixtures/transactions-app.module.js';

/** A promise the test resolves when it wants: stands for a call that does not return. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('transaction timeouts', () => {
  let app: INestApplication;
  let memory: MemoryStoreService;
  let accounts: AccountsStore;
  let ledger: LedgerStore;

  beforeEach(async () => {
    app = await createApp(TransactionsAppModule.register());
    await app.init();
    memory = app.get(MemoryStoreService);
    accounts = app.get(AccountsStore);
    ledger = app.get(LedgerStore);
    await accounts.write({ id: 'a', balance: 100 });
  });

  afterEach(async () => {
    jest.useRealTimers();
    await app.close();
  });

  it('a transaction whose function hangs fails with TransactionTimeoutError and applies nothing', async () => {
    const changes: StoreChange[] = [];
    const subscription = accounts.changes().subscribe((c) => changes.push(c));
    const hang = gate();
    const error = await rejectionOf(
      memory.transaction(
        async () => {
          await accounts.update('a', { balance: 0 });
          await ledger.insert({ id: 'm1', account: 'a', amount: -100 });
          await hang.opened; // a call that never returns
        },
        { timeoutMs: 40 },
      ),
    );
    await turn();
    subscription.unsubscribe();
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect(error).toMatchObject({
      timeoutMs: 40,
      tables: ['accounts', 'ledger'],
      table: 'accounts',
    });
    expect((error as Error).message).toContain('timed out after 40 ms');
    expect(accounts.get('a')?.balance).toBe(100);
    expect(ledger.size).toBe(0);
    expect(changes).toEqual([]);
    hang.open();
  });

  it('what the function does after its timeout, while other transactions run, is refused and never applied', async () => {
    const hang = gate();
    const other = gate();
    const late: unknown[] = [];
    const timedOut = memory.transaction(
      async () => {
        await accounts.update('a', { balance: 1 });
        await hang.opened;
        // resumes after the timeout: every store call inside the dead transaction is refused
        late.push(await rejectionOf(accounts.update('a', { balance: 2 })));
        late.push(await rejectionOf(ledger.insert({ id: 'late', account: 'a', amount: 1 })));
        late.push(await rejectionOf(memory.transaction(() => accounts.write({ id: 'z' }))));
        try {
          accounts.get('a');
        } catch (error) {
          late.push(error);
        }
      },
      { timeoutMs: 30 },
    );
    // another transaction, live all along: it commits as usual
    const running = memory.transaction(async () => {
      await other.opened;
      await ledger.insert({ id: 'm1', account: 'a', amount: 5 });
    });
    expect(await rejectionOf(timedOut)).toBeInstanceOf(TransactionTimeoutError);
    hang.open();
    await delay(10);
    other.open();
    await running;
    expect(late).toHaveLength(4);
    for (const error of late) {
      expect(error).toBeInstanceOf(TransactionTimeoutError);
      expect((error as Error).message).toContain(
        'inside a transaction that had timed out after 30 ms',
      );
    }
    expect(accounts.all().map((r) => [r.id, r.balance])).toEqual([['a', 100]]);
    expect(ledger.keys()).toEqual(['m1']);
  });

  it('counts retries in the same time, and a function that returns in time is not affected', async () => {
    expect(DEFAULT_TRANSACTION_TIMEOUT_MS).toBe(30_000);
    await memory.transaction(() => accounts.update('a', { balance: 90 }), { timeoutMs: 1_000 });
    expect(accounts.get('a')?.balance).toBe(90);
    let runs = 0;
    // someone else keeps changing 'a': every attempt that read it conflicts and runs again
    let flips = 0;
    const interval = setInterval(() => void accounts.update('a', { frozen: ++flips % 2 === 0 }), 5);
    const error = await rejectionOf(
      memory.transaction(
        async () => {
          runs++;
          accounts.get('a');
          await delay(20);
          await accounts.update('a', { balance: runs });
        },
        { timeoutMs: 300, retries: 1_000 },
      ),
    );
    clearInterval(interval);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(runs).toBeGreaterThan(1);
    expect(accounts.get('a')?.balance).toBe(90);
  });

  it('the default timeout applies without the option', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const hang = gate();
    const pending = rejectionOf(memory.transaction(() => hang.opened));
    await jest.advanceTimersByTimeAsync(DEFAULT_TRANSACTION_TIMEOUT_MS - 1);
    let settled = false;
    void pending.then(() => (settled = true));
    await turn();
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = await pending;
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect((error as TransactionTimeoutError).timeoutMs).toBe(30_000);
    hang.open();
  });

  it('refuses a timeout that is not a positive number of milliseconds', async () => {
    for (const timeoutMs of [0, -1, NaN, '10', 2 ** 31]) {
      const error = await rejectionOf(
        memory.transaction(() => undefined, { timeoutMs } as unknown as { timeoutMs: number }),
      );
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain("'timeoutMs' must be a number of milliseconds");
    }
    await memory.transaction(() => accounts.update('a', { balance: 1 }), { timeoutMs: Infinity });
    expect(accounts.get('a')?.balance).toBe(1);
  });
});
