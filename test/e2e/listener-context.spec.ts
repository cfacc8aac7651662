import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreService } from 'nestjs-memory-store';
import { createApp, delay, rejectionOf } from './fixtures/app.factory.js';
import {
  AuditStore,
  CodesStore,
  ListenerContextAppModule,
  OrdersStore,
} from './fixtures/listener-context-app.module.js';

/** Lets the change hub deliver (next turn) and the listeners' inserts settle. */
const delivered = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('listeners run in their own context', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start() {
    app = await createApp(ListenerContextAppModule.register());
    await app.init();
    return {
      codes: app.get(CodesStore),
      orders: app.get(OrdersStore),
      audit: app.get(AuditStore),
      memory: app.get(MemoryStoreService),
    };
  }

  it("a listener's writes survive the rollback of a transaction that published in the same turn", async () => {
    const { codes, orders, audit, memory } = await start();
    const seen: string[] = [];
    const subscription = codes.changes().subscribe((c) => {
      // a changes() subscriber that writes: its write is its own, too
      void audit.insert({ id: `observer:${c.op}:${String(c.key)}`, via: 'observer' });
      seen.push(c.op);
    });
    await codes.write({ id: 'tok' }, { ttl: 5 });
    await delay(20); // 'tok' is due
    await delivered();
    await audit.deleteAll();
    await delivered(); // nothing queued: the transaction's change is the first of its turn

    // a transaction that reads (so 'tok' expires and is published from inside it), awaits, fails
    const failing = memory.transaction(async () => {
      codes.get('tok');
      await delay(30);
      throw new Error('a business rule failed');
    });
    // the same turn, no transaction: an ordinary acknowledged insert
    await orders.insert({ id: 'order-1', total: 99 });
    await expect(rejectionOf(failing)).resolves.toThrow('a business rule failed');
    await delivered();
    subscription.unsubscribe();

    expect(seen).toEqual(['insert', 'expire']);
    expect([...audit.keys()].sort()).toEqual([
      'emitter:codes:expire:tok',
      'emitter:orders:insert:order-1',
      'listener:codes:expire:tok',
      'listener:orders:insert:order-1',
      'observer:expire:tok',
    ]);
  });

  it('a listener delivered while a transaction is still open writes outside it, at once', async () => {
    const { codes, audit, memory } = await start();
    await codes.write({ id: 'tok' }, { ttl: 5 });
    await delay(20);
    await delivered();
    await audit.deleteAll();
    await delivered(); // nothing queued: the transaction's change is the first of its turn
    let finish!: () => void;
    const open = new Promise<void>((resolve) => (finish = resolve));
    const running = memory.transaction(async () => {
      codes.get('tok'); // expires 'tok': the change is published from inside the transaction
      await open;
    });
    await delivered();
    // committed already, seen from outside while the transaction still runs
    expect([...audit.keys()].sort()).toEqual([
      'emitter:codes:expire:tok',
      'listener:codes:expire:tok',
    ]);
    finish();
    await running;
    expect(audit.size).toBe(2);
  });
});
