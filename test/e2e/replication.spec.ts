import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  DuplicateKeyError,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  ReplicationUnavailableError,
  type ReplicationOptions,
  type StoreChange,
} from 'nestjs-memory-store';
import { createApp, delay, failedStartUp, rejectionOf, thrownBy } from './fixtures/app.factory.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import {
  Account,
  AccountsAudit,
  AccountsStore,
  MeetupsStore,
  REDIS_URL,
  OrdersStore,
  ReplicationAppModule,
  TokensStore,
} from './fixtures/replication-app.module.js';

interface Instance {
  app: INestApplication;
  accounts: AccountsStore;
  tokens: TokensStore;
  orders: OrdersStore;
  memory: MemoryStoreService;
}

describe('replication over Redis (two instances in one process)', () => {
  let prefix: string;
  const running: INestApplication[] = [];

  async function start(
    instanceId: string,
    replication: Partial<ReplicationOptions> = {},
  ): Promise<Instance> {
    const app = await createApp(
      ReplicationAppModule.register({ prefix, instanceId, ...replication }),
    );
    running.push(app);
    await app.init();
    return {
      app,
      accounts: app.get(AccountsStore),
      tokens: app.get(TokensStore),
      orders: app.get(OrdersStore),
      memory: app.get(MemoryStoreService),
    };
  }

  beforeEach(() => {
    prefix = freshPrefix();
  });

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    await dropPrefix(prefix);
  });

  it('applies a write on every instance; changes(), @OnStoreEvent and EventEmitter2 report the origin that made it', async () => {
    const a = await start('a');
    const b = await start('b');
    const seen: StoreChange<Account>[] = [];
    const subscription = b.accounts.changes().subscribe((c) => seen.push(c));
    const written = await a.accounts.write({ id: 'acc-1', balance: 10 });
    expect(a.accounts.get('acc-1')).toBe(written);
    await until(() => b.accounts.get('acc-1') !== undefined);
    expect(b.accounts.get('acc-1')).toMatchObject({ id: 'acc-1', balance: 10 });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ op: 'insert', key: 'acc-1', origin: 'a' });
    for (const instance of [a, b]) {
      const audit = instance.app.get(AccountsAudit);
      await until(() => audit.heard.length === 2);
      expect(audit.heard).toEqual(
        expect.arrayContaining([
          { via: 'OnStoreEvent', op: 'insert', key: 'acc-1', origin: 'a' },
          { via: 'EventEmitter2', op: 'insert', key: 'acc-1', origin: 'a' },
        ]),
      );
    }
    subscription.unsubscribe();
  });

  it('refuses a duplicate key or unique value decided on another instance', async () => {
    const a = await start('a');
    const b = await start('b');
    const results = await Promise.allSettled([
      a.accounts.insert({ id: 'x', number: 'N-1' }),
      b.accounts.insert({ id: 'x', number: 'N-2' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DuplicateKeyError);
    const clash = await rejectionOf(
      b.accounts.write({
        id: 'y',
        number: a.accounts.get('x')?.number ?? b.accounts.get('x')!.number,
      }),
    );
    expect(clash).toBeInstanceOf(DuplicateKeyError);
    expect(clash).toMatchObject({ field: 'number' });
  });

  it('names the record holding a unique value when Redis refuses it (DuplicateKeyError.holder)', async () => {
    const a = await start('a');
    const b = await start('b');
    // neither instance holds the other's record yet: the clash is found in Redis
    const results = await Promise.allSettled([
      a.accounts.insert({ id: 'from-a', number: 'N-9' }),
      b.accounts.insert({ id: 'from-b', number: 'N-9' }),
    ]);
    const kept = results.findIndex((r) => r.status === 'fulfilled');
    const refused = results[1 - kept] as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DuplicateKeyError);
    const holder = kept === 0 ? 'from-a' : 'from-b';
    expect(refused.reason).toMatchObject({ field: 'number', value: 'N-9', holder });
    expect((refused.reason as Error).message).toContain(`held by record '${holder}'`);
  });

  it('hands out counter values once across instances', async () => {
    const a = await start('a');
    const b = await start('b');
    const values = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).orders.nextId('n')),
    );
    expect(new Set(values).size).toBe(40);
    expect(Math.max(...values)).toBe(40);
    const made = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).orders.write({ item: `i${i}` })),
    );
    expect(new Set(made.map((o) => o.id)).size).toBe(10);
    await until(() => a.orders.size === 10 && b.orders.size === 10);
  });

  it('refuses nextId past Number.MAX_SAFE_INTEGER, as a memory-only store does, never handing a value out twice', async () => {
    const a = await start('a');
    const b = await start('b');
    await a.orders.resetCounter('big', Number.MAX_SAFE_INTEGER - 2);
    const handed = [await a.orders.nextId('big'), await b.orders.nextId('big')];
    expect(handed).toEqual([Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER]);
    for (const instance of [a, b, a]) {
      const error = await rejectionOf(instance.orders.nextId('big'));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as MemoryStoreError).table).toBe('orders');
      expect((error as Error).message).toMatch(/Counter 'big' has reached Number.MAX_SAFE_INTEGER/);
    }
    await until(() => b.orders.counter('big') === Number.MAX_SAFE_INTEGER);
    expect(a.orders.counter('big')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('keeps money across concurrent transfers on two instances', async () => {
    const a = await start('a');
    const b = await start('b');
    await a.accounts.writeMany([
      { id: 'p', balance: 500 },
      { id: 'q', balance: 500 },
    ]);
    await until(() => b.accounts.size === 2);
    const transfer = (i: Instance, from: string, to: string) =>
      i.memory.transaction(
        async () => {
          const source = i.accounts.get(from)!;
          const target = i.accounts.get(to)!;
          await i.accounts.update(from, { balance: source.balance - 7 });
          await i.accounts.update(to, { balance: target.balance + 7 });
        },
        { retries: 100 },
      );
    await Promise.all(
      Array.from({ length: 20 }, (_, n) => (n % 2 ? transfer(a, 'p', 'q') : transfer(b, 'q', 'p'))),
    );
    // every transfer applied once, on both: ten each way leave the balances where they began
    await until(() => sameContents(a.accounts, b.accounts));
    expect(a.accounts.total()).toBe(1000);
    expect(a.accounts.get('p')?.balance).toBe(500);
    expect(b.accounts.get('q')?.balance).toBe(500);
  });

  it('expires a record once, seen by every instance', async () => {
    const a = await start('a');
    const b = await start('b');
    const expiredOn: string[] = [];
    a.tokens.changes({ op: 'expire' }).subscribe(() => expiredOn.push('a'));
    b.tokens.changes({ op: 'expire' }).subscribe(() => expiredOn.push('b'));
    await a.tokens.write({ code: 't1' }, { ttl: 100 });
    await until(() => b.tokens.get('t1') !== undefined);
    expect(b.tokens.ttl('t1')).toBeGreaterThan(0);
    await until(() => a.tokens.size === 0 && b.tokens.size === 0);
    await delay(150);
    expect(expiredOn.sort()).toEqual(['a', 'b']);
  });

  describe("when this machine's clock is off from Redis's", () => {
    // Redis sets deadlines by its clock; the local copy checks them by this machine's. Every
    // instance here shares the process's skewed Date.now(); Redis's clock is the real time.
    const skewed = (skew: number) => {
      const realNow = Date.now.bind(Date);
      return jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    };

    for (const [label, skew] of [
      ['an hour ahead', 3_600_000],
      ['an hour behind', -3_600_000],
    ] as const) {
      it(`ttl(key) reads the time left by Redis's clock when this one is ${label}`, async () => {
        const clock = skewed(skew);
        try {
          const a = await start('a');
          const b = await start('b');
          await a.tokens.write({ code: 't1' }, { ttl: 60_000 });
          await until(() => b.tokens.get('t1') !== undefined);
          const c = await start('c'); // loads the record from Redis's snapshot
          for (const instance of [a, b, c]) {
            expect(instance.tokens.ttl('t1')).toBeGreaterThan(55_000);
            expect(instance.tokens.ttl('t1')).toBeLessThanOrEqual(60_000);
          }
        } finally {
          clock.mockRestore();
        }
      });
    }
  });

  it('a new instance loads the current state and follows the log', async () => {
    const a = await start('a');
    await a.accounts.writeMany([{ id: '1' }, { id: '2' }]);
    await a.orders.nextId('z');
    const b = await start('b');
    expect(b.accounts.keys().sort()).toEqual(['1', '2']);
    expect(b.orders.counter('z')).toBe(1);
    await a.accounts.delete('1');
    await until(() => b.accounts.size === 1);
  });

  it('an instance that starts while others write loads and follows without a gap', async () => {
    const a = await start('a');
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 50; i++) {
        await a.accounts.write({ id: `w${i % 37}`, balance: i });
        await a.tokens.write({ code: `t${i % 23}`, user: `u${i}` });
        if (i % 5 === 0) await a.orders.nextId('n');
      }
    })();
    await delay(20);
    const b = await start('b');
    const c = await start('c');
    writing = false;
    await writer;
    await until(
      () =>
        JSON.stringify([a.accounts.all(), a.tokens.all(), a.orders.counter('n')]) ===
          JSON.stringify([b.accounts.all(), b.tokens.all(), b.orders.counter('n')]) &&
        JSON.stringify([a.accounts.all(), a.tokens.all(), a.orders.counter('n')]) ===
          JSON.stringify([c.accounts.all(), c.tokens.all(), c.orders.counter('n')]),
    );
    expect(b.accounts.size).toBe(37);
    expect(c.tokens.size).toBe(23);
  });

  it('hands a one-time token to exactly one of two instances withdrawing it', async () => {
    const a = await start('a');
    const b = await start('b');
    for (let i = 0; i < 10; i++) await a.tokens.write({ code: `c${i}`, user: 'u' });
    await until(() => b.tokens.size === 10);
    const taken = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        a.tokens.withdraw({ code: `c${i}` }),
        b.tokens.withdraw({ code: `c${i}` }),
      ]).flat(),
    );
    const codes = taken.filter((t) => t !== undefined).map((t) => t.code);
    expect(codes.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    await until(() => a.tokens.size === 0 && b.tokens.size === 0);
  });

  it('serves reads and refuses writes while Redis is unreachable, then catches up (past the log trim) and accepts them again', async () => {
    const a = await start('a', { logLength: 100 });
    const b = await start('b', {
      logLength: 100,
      redis: { url: REDIS_URL, connectionName: `${prefix}-b`, retryStrategy: () => 1_500 },
    });
    await a.accounts.write({ id: 'kept', balance: 1 });
    await until(() => b.accounts.get('kept') !== undefined);
    expect(b.accounts.replication).toMatchObject({ state: 'ready', instanceId: 'b' });

    await killConnections(`${prefix}-b`);
    await until(() => b.accounts.replication?.state === 'degraded');
    const refused = await rejectionOf(b.accounts.write({ id: 'lost', balance: 2 }));
    expect(refused).toBeInstanceOf(ReplicationUnavailableError);
    expect(b.accounts.get('kept')).toMatchObject({ balance: 1 }); // reads go on
    expect(a.accounts.get('lost')).toBeUndefined(); // nothing applied anywhere

    // meanwhile the other instance writes far past the log's length
    for (let i = 0; i < 30; i++) {
      await a.accounts.writeMany(
        Array.from({ length: 20 }, (_, j) => ({ id: `n${j}`, balance: i })),
      );
    }
    await a.accounts.delete('kept');
    await until(() => b.accounts.replication?.state === 'ready', 15_000);
    expect(b.accounts.all()).toEqual(a.accounts.all());
    await b.accounts.write({ id: 'after', balance: 3 });
    await until(() => a.accounts.get('after') !== undefined);
  });

  it('loads seeds into Redis once: a later instance keeps what others changed', async () => {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const meetupsA = a.app.get(MeetupsStore);
    const meetupsB = b.app.get(MeetupsStore);
    expect(meetupsA.keys().sort()).toEqual(['m-1', 'm-2']);
    expect(meetupsB.keys().sort()).toEqual(['m-1', 'm-2']);
    expect(meetupsA.get('m-1')?.startDate).toBeInstanceOf(Date);
    await meetupsA.delete('m-2');
    await meetupsA.update('m-1', { seats: 99 });
    const c = await start('c');
    const meetupsC = c.app.get(MeetupsStore);
    expect(meetupsC.keys()).toEqual(['m-1']);
    expect(meetupsC.get('m-1')).toMatchObject({ seats: 99, slug: 'nest-night' });
  });

  it('refuses dirty writes on a replicated store', async () => {
    const a = await start('a');
    const error = thrownBy(() => a.accounts.dirtyWrite({ id: 'd' }));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/use write\(\)/);
    expect(a.accounts.size).toBe(0);
  });

  it('fails start-up with a clear error when Redis cannot be reached', async () => {
    const { error, app } = await failedStartUp(
      ReplicationAppModule.register({
        prefix,
        redis: 'redis://127.0.0.1:1',
        connectTimeoutMs: 2_000,
      }),
    );
    await app?.close();
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(/Redis cannot be reached/);
  });

  it('refuses a store that is both persisted and replicated', async () => {
    const { error, app } = await failedStartUp(
      ReplicationAppModule.register({ prefix }, { persistence: { dir: '/tmp/never-used' } }),
    );
    await app?.close();
    expect((error as Error).message).toMatch(/both persisted and replicated/);
  });
});

function sameContents(x: AccountsStore, y: AccountsStore): boolean {
  return JSON.stringify(x.all()) === JSON.stringify(y.all()) && x.size === y.size;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(5);
  }
}

describe('replication options', () => {
  const bad: [string, unknown][] = [
    ['a string', 'redis://127.0.0.1:6379'],
    ['true', true],
    ['null', null],
    ['no redis', { prefix: 'p' }],
    ['an empty redis URL', { redis: '' }],
    ['a numeric redis', { redis: 6379 }],
    ['an array for redis', { redis: ['redis://127.0.0.1:6379'] }],
    ['an empty prefix', { redis: REDIS_URL, prefix: '' }],
    ['a prefix with braces', { redis: REDIS_URL, prefix: '{app}' }],
    ['an empty instanceId', { redis: REDIS_URL, instanceId: '' }],
    ['a tiny logLength', { redis: REDIS_URL, logLength: 10 }],
    ['a fractional logLength', { redis: REDIS_URL, logLength: 1000.5 }],
    ['a zero connectTimeoutMs', { redis: REDIS_URL, connectTimeoutMs: 0 }],
    ['a negative waitForReplicas', { redis: REDIS_URL, waitForReplicas: -1 }],
    ['a fractional waitForReplicas', { redis: REDIS_URL, waitForReplicas: 1.5 }],
    ['a zero waitTimeoutMs', { redis: REDIS_URL, waitTimeoutMs: 0 }],
    ['an unknown option', { redis: REDIS_URL, prefx: 'p' }],
  ];

  it.each(bad)('refuses %s in forRoot({ replication })', async (_, replication) => {
    const { error, app } = await failedStartUp({
      module: class BadReplicationModule {},
      imports: [MemoryStoreModule.forRoot({ stores: [], replication: replication as never })],
    });
    await app?.close();
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toMatch(
      /'replication(\.\w+)?' must|unknown option 'replication\.prefx'/,
    );
  });

  it.each(bad)('refuses %s in @Store({ replication })', (_, replication) => {
    const error = thrownBy(() => {
      @Store({ table: Account, replication: replication as never })
      class BadStore extends MemoryStore<Account> {}
      return BadStore;
    });
    expect(error).toBeInstanceOf(MemoryStoreError);
    // the option itself is known: what is refused is its value
    expect((error as Error).message).not.toMatch(/unknown option 'replication'/);
    expect((error as Error).message).toMatch(
      /'replication(\.\w+)?' must|unknown option 'replication\.prefx'/,
    );
  });
});

/** Closes every Redis connection with this name, as a network failure would. */
async function killConnections(name: string): Promise<void> {
  const admin = new Redis(REDIS_URL);
  try {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /id=(\d+)/.exec(line)![1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await admin.client('KILL', 'ID', id);
  } finally {
    admin.disconnect();
  }
}
