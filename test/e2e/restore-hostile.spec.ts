import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { join } from 'node:path';
import { MemoryStoreService } from 'nestjs-memory-store';
import { NotesStore, OrdersStore, startPersistedApp } from './fixtures/persistence-app.module.js';
import {
  GatedFileSystem,
  crashCopy,
  crashImage,
  removeDir,
  tempDir,
} from './fixtures/persistence-files.js';

/**
 * A restore of several tables replaces them one after the other, in slices, and logs all of
 * its changes together once every table is replaced. Writes made meanwhile to a table it has
 * already replaced must be acknowledged only once they are in the log, and
 * a crash at any moment must recover every acknowledged one.
 */
describe('restore: writes made while it runs', () => {
  const dirs: string[] = [];
  const apps = new Set<INestApplication>();

  afterEach(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    apps.clear();
  });

  afterAll(async () => {
    for (const dir of dirs.splice(0)) await removeDir(dir);
  });

  async function dir(label: string): Promise<string> {
    const made = await tempDir(label);
    dirs.push(made);
    return made;
  }

  async function start(on: string, fileSystem?: GatedFileSystem): Promise<INestApplication> {
    const { app } = await startPersistedApp({ dir: on, fsync: 'always', fileSystem });
    apps.add(app);
    return app;
  }

  const turn = () => new Promise((resolve) => setTimeout(resolve, 1));

  it('a write acknowledged on a table already restored, while the next table is restored, survives a crash', async () => {
    const on = await dir('restore-writes');
    const app = await start(on);
    const notes = app.get(NotesStore);
    const orders = app.get(OrdersStore);
    const memory = app.get(MemoryStoreService);
    await notes.writeMany([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    await orders.writeMany(Array.from({ length: 20_000 }, (_, i) => ({ item: `item ${i}` })));
    const file = join(await dir('restore-backups'), 'all.bak');
    await memory.backup(file);
    await notes.write({ id: 'a', n: 10 });
    await notes.write({ id: 'gone', n: 0 });

    let settled = false;
    const restore = memory.restore(file).finally(() => (settled = true));
    // the notes are replaced first (the backup's order); the orders take many slices more
    for (let i = 0; i < 5_000 && notes.get('gone') !== undefined && !settled; i++) await turn();
    expect(notes.get('gone')).toBeUndefined();
    expect(settled).toBe(false);

    // made while the orders are being replaced: it waits for the restore or is logged, but
    // is never acknowledged before it is in the log
    await notes.write({ id: 'late', n: 7 }); // acknowledged: fsync 'always'
    const image = await crashCopy(on);
    dirs.push(image);
    await restore;
    expect(notes.get('late')).toEqual({ id: 'late', n: 7 });
    expect(notes.get('a')).toEqual({ id: 'a', n: 1 });

    const recovered = await start(image);
    expect(recovered.get(NotesStore).get('late')).toEqual({ id: 'late', n: 7 });
    expect(recovered.get(NotesStore).get('a')).toEqual({ id: 'a', n: 1 });
  });

  it('a crash while a restore applies recovers the counters of the records it recovers (all of the restore or none)', async () => {
    const on = await dir('restore-counters');
    const gate = new GatedFileSystem();
    const app = await start(on, gate);
    const orders = app.get(OrdersStore);
    const memory = app.get(MemoryStoreService);
    await orders.writeMany(Array.from({ length: 20_000 }, (_, i) => ({ item: `item ${i}` })));
    const file = join(await dir('restore-backups'), 'orders.bak');
    for (let i = 0; i < 3; i++) await orders.nextId('tickets');
    await memory.backup(file); // its counters: id 20,000, tickets 3
    await orders.nextId('tickets');
    await orders.nextId('tickets');
    const extra = await orders.writeMany(Array.from({ length: 5 }, () => ({ item: 'extra' })));
    expect(extra.map((order) => order.id)).toEqual([20_001, 20_002, 20_003, 20_004, 20_005]);

    let settled = false;
    const restore = memory.restore(file).finally(() => (settled = true));
    // the extra orders are deleted first, then the counters replaced, then 20,000 records
    // written over in slices
    for (let i = 0; i < 5_000 && orders.get(20_001) !== undefined && !settled; i++) await turn();
    for (let i = 0; i < 5 && !settled; i++) await new Promise((r) => setTimeout(r, 2));
    const image = await crashImage(on, gate); // the files as they are now, none written meanwhile
    dirs.push(image);
    expect(settled).toBe(false);
    await restore;

    // before the restore (20,005 orders, 5 tickets) or after it (20,000, 3 tickets)
    const recovered = (await start(image)).get(OrdersStore);
    expect([
      [20_005, 5],
      [20_000, 3],
    ]).toContainEqual([recovered.size, recovered.counter('tickets')]);
  });

  it('a counter value handed out while a bulk write applies survives a crash', async () => {
    const on = await dir('bulk-counter');
    const gate = new GatedFileSystem();
    const app = await start(on, gate);
    const notes = app.get(NotesStore);
    let settled = false;
    const written = notes
      .writeMany(Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, n: i })))
      .finally(() => (settled = true));
    for (let i = 0; i < 5_000 && notes.size === 0 && !settled; i++) await turn();
    expect(settled).toBe(false); // applying: part of the batch is in the table
    const ticket = await notes.nextId('tickets');
    const image = await crashImage(on, gate);
    dirs.push(image);
    await written;

    const recovered = (await start(image)).get(NotesStore);
    expect(recovered.counter('tickets')).toBeGreaterThanOrEqual(ticket);
    expect(await recovered.nextId('tickets')).toBeGreaterThan(ticket); // never handed out twice
  });
});
