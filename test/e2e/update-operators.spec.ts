import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  MemoryStoreService,
  QueryError,
  StoreValidationError,
  type StoreChange,
} from 'nestjs-memory-store';
import { createApp, rejectionOf, thrownBy, until } from './fixtures/app.factory.js';
import {
  Item,
  InventoryAppModule,
  ItemsStore,
  type InventorySetup,
} from './fixtures/inventory-app.module.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';

describe('update operators through a Nest application', () => {
  const running: INestApplication[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  async function start(setup: InventorySetup = {}) {
    const app = await createApp(InventoryAppModule.register(setup));
    running.push(app);
    await app.init();
    return { app, items: app.get(ItemsStore), memory: app.get(MemoryStoreService) };
  }

  async function stop(app: INestApplication): Promise<void> {
    running.splice(running.indexOf(app), 1);
    await app.close();
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('updates by key, by query and dirtyUpdate with operators; a plain patch still replaces top-level fields', async () => {
    const { items } = await start();
    await items.writeMany([
      { id: 'i1', stock: 5, tags: ['new'] },
      { id: 'i2', stock: 1, shelf: 'B' },
    ]);
    const changes: StoreChange<Item>[] = [];
    const subscription = items.changes().subscribe((c) => changes.push(c));

    const i1 = await items.update('i1', {
      $inc: { stock: -2, sold: 2 },
      $set: { 'settings.lang': 'fr' },
      $push: { tags: 'sale', lines: { sku: 's', qty: 2 } },
    });
    expect(i1).toMatchObject({
      stock: 3,
      sold: 2,
      tags: ['new', 'sale'],
      lines: [{ sku: 's', qty: 2 }],
    });
    expect(i1.settings).toEqual({ lang: 'fr', theme: 'dark', alerts: { email: true, sms: false } });
    expect(i1).toBeInstanceOf(Item);
    expect(Object.isFrozen(i1.lines[0])).toBe(true);
    expect(items.get('i1')).toBe(i1);
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ op: 'update', key: 'i1' });
    expect(Object.keys(changes[0].diff ?? {}).sort()).toEqual([
      'lines',
      'settings',
      'sold',
      'stock',
      'tags',
    ]);

    const onShelfA = await items.update(
      { shelf: 'A' },
      { $set: { shelf: 'C' }, $max: { price: 10 } },
    );
    expect(onShelfA.map((i) => i.id)).toEqual(['i1']);
    expect(items.select({ shelf: 'C' }).map((i) => i.id)).toEqual(['i1']); // the index follows

    expect(items.dirtyUpdate('i2', { $mul: { stock: 4 }, $unset: { shelf: 1 } })).toMatchObject({
      stock: 4,
      shelf: 'A', // back to the class default
    });

    // a plain patch replaces the top-level field whole: here the nested object
    const replaced = await items.update('i1', {
      settings: { lang: 'de', theme: 'light', alerts: { email: false, sms: false } },
    });
    expect(replaced.settings.lang).toBe('de');
    subscription.unsubscribe();
  });

  it('merges a plain patch deeply with { merge: "deep" }: nested objects field by field, arrays replaced', async () => {
    const { items } = await start();
    await items.write({ id: 'i1', tags: ['a', 'b'] });
    const merged = await items.update(
      'i1',
      { settings: { alerts: { sms: true } }, tags: ['c'] },
      { merge: 'deep' },
    );
    expect(merged.settings).toEqual({
      lang: 'en',
      theme: 'dark',
      alerts: { email: true, sms: true },
    });
    expect(merged.tags).toEqual(['c']);
    expect(Object.isFrozen(merged.settings.alerts)).toBe(true);
    const byQuery = items.dirtyUpdate(
      { id: 'i1' },
      { settings: { theme: 'light' } },
      { merge: 'deep' },
    );
    expect(byQuery[0].settings).toMatchObject({
      lang: 'en',
      theme: 'light',
      alerts: { sms: true },
    });
    const withOperators = await rejectionOf(
      items.update('i1', { $set: { stock: 1 } } as never, { merge: 'deep' }),
    );
    expect(withOperators).toBeInstanceOf(QueryError);
  });

  it('validates the result like any write: StoreValidationError, nothing changed, no change event', async () => {
    const { items } = await start();
    await items.write({ id: 'i1', stock: 1, price: 3 });
    const before = items.get('i1');
    const changes: StoreChange<Item>[] = [];
    const subscription = items.changes().subscribe((c) => changes.push(c));
    const negative = await rejectionOf(items.update('i1', { $inc: { stock: -2 } }));
    expect(negative).toBeInstanceOf(StoreValidationError);
    expect((negative as StoreValidationError).errors[0].property).toBe('stock');
    const notANumber = thrownBy(() => items.dirtyUpdate('i1', { $inc: { shelf: 1 } } as never));
    expect(notANumber).toBeInstanceOf(StoreValidationError);
    expect((notANumber as Error).message).toContain("$inc needs a number at 'shelf'");
    const unknown = await rejectionOf(items.update('i1', { $incr: { stock: 1 } } as never));
    expect(unknown).toBeInstanceOf(QueryError);
    expect(items.get('i1')).toBe(before);
    await items.update('i1', { $inc: { stock: 1 } }); // a valid one, heard after the others
    await until(() => changes.length > 0);
    expect(changes.map((c) => c.previous)).toEqual([before]);
    subscription.unsubscribe();
  });

  it('is atomic in a transaction: a throw, or an operator that fails, leaves nothing changed', async () => {
    const { items, memory } = await start();
    await items.writeMany([
      { id: 'i1', stock: 5 },
      { id: 'i2', stock: 5 },
    ]);
    const before = items.all();
    const thrown = await rejectionOf(
      memory.transaction(async () => {
        await items.update('i1', { $inc: { stock: -1 }, $push: { tags: 'moved' } });
        await items.update('i2', { $inc: { stock: 1 } });
        expect(items.get('i1')).toMatchObject({ stock: 4, tags: ['moved'] }); // its own writes
        throw new Error('changed my mind');
      }),
    );
    expect((thrown as Error).message).toBe('changed my mind');
    expect(items.all()).toEqual(before);

    const failed = await rejectionOf(
      memory.transaction(async () => {
        await items.update('i1', { $inc: { stock: -5 } });
        await items.update('i2', { $inc: { stock: -6 } }); // below the @Min(0)
      }),
    );
    expect(failed).toBeInstanceOf(StoreValidationError);
    expect(items.get('i1')).toMatchObject({ stock: 5 });

    await memory.transaction(async () => {
      await items.update({ stock: 5 }, { $inc: { stock: -1 } });
    });
    expect(items.all().map((i) => i.stock)).toEqual([4, 4]);
  });

  it('logs the updated record: a restart recovers it as it was', async () => {
    const dir = await tempDir('update-operators');
    cleanups.push(() => removeDir(dir));
    const first = await start({ dir });
    await first.items.write({ id: 'i1', stock: 2, lines: [{ sku: 'a', qty: 1 }] });
    await first.items.update('i1', {
      $inc: { 'lines.0.qty': 4, stock: 1 },
      $set: { 'settings.alerts.sms': true, checked: new Date(1_700_000_000_000) },
      $addToSet: { tags: { $each: ['x', 'x', 'y'] } },
      $rename: { sold: 'price' },
    });
    const updated = first.items.get('i1')!;
    await stop(first.app);

    const second = await start({ dir });
    const recovered = second.items.get('i1')!;
    expect(recovered).toEqual(updated);
    expect(recovered).toBeInstanceOf(Item);
    expect(recovered).toMatchObject({
      stock: 3,
      price: 0,
      sold: 0,
      tags: ['x', 'y'],
      lines: [{ sku: 'a', qty: 5 }],
    });
    expect(recovered.checked?.getTime()).toBe(1_700_000_000_000);
  });

  it('replicates across two instances: concurrent $inc from both add up, and both hold the result', async () => {
    const prefix = freshPrefix();
    cleanups.push(() => dropPrefix(prefix));
    const a = await start({ replication: { prefix, instanceId: 'a' } });
    const b = await start({ replication: { prefix, instanceId: 'b' } });
    await a.items.write({ id: 'i1' });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).items.update('i1', { $inc: { sold: 1 }, $push: { tags: `t${i}` } }),
      ),
    );
    await until(() => b.items.get('i1')?.sold === 20 && a.items.get('i1')?.sold === 20);
    expect(b.items.get('i1')!.tags).toHaveLength(20);
    expect(b.items.get('i1')).toEqual(a.items.get('i1'));
    const refused = await rejectionOf(b.items.update('i1', { $inc: { stock: -1 } }));
    expect(refused).toBeInstanceOf(StoreValidationError);
    expect(a.items.get('i1')!.stock).toBe(0);
  });
});
