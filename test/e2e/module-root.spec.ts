import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStore, MemoryStoreError, MemoryStoreService } from 'nestjs-memory-store';
import { createApp, thrownBy } from './fixtures/app.factory.js';
import { PeopleStore, Person, Tag } from './fixtures/people.table.js';
import { DirectoryService, RootAppModule } from './fixtures/root-app.module.js';

describe('MemoryStoreModule.forRoot({ stores })', () => {
  let app: INestApplication;
  let directory: DirectoryService;

  beforeEach(async () => {
    app = await createApp(RootAppModule.register());
    await app.init();
    directory = app.get(DirectoryService);
  });

  afterEach(async () => {
    await app.close();
  });

  it('injects a store class by class, started and ready to use', async () => {
    expect(directory.people).toBeInstanceOf(PeopleStore);
    expect(directory.people).toBeInstanceOf(MemoryStore);
    expect(directory.people.isReady).toBe(true);
    const ada = await directory.hire('u-1', 'ada@example.com', 'sales');
    expect(directory.people.get('u-1')).toBe(ada);
    expect(app.get(PeopleStore).get('u-1')).toBe(ada);
  });

  it("runs the store class's own methods over its records", async () => {
    await directory.people.writeMany([
      { uuid: 'u-1', email: 'a@example.com', admin: true },
      { uuid: 'u-2', email: 'b@example.com', admin: true, active: false },
      { uuid: 'u-3', email: 'c@example.com' },
    ]);
    expect(directory.people.admins().map((p) => p.uuid)).toEqual(['u-1']);
  });

  it('injects a bare table listed in forRoot with @InjectStore(Table)', async () => {
    expect(directory.tags).toBeInstanceOf(MemoryStore);
    await directory.tags.write({ id: 't-1', label: 'vip' });
    expect(directory.tags.get('t-1')).toBeInstanceOf(Tag);
    expect(directory.tags.tableName).toBe('tags');
  });

  it('@InjectStore(Table) of a table held by a store class injects that store', () => {
    expect(directory.peopleByTable).toBe(directory.people);
  });

  it('MemoryStoreService.store() finds a store by table class, store class and table name', () => {
    const memory = app.get(MemoryStoreService);
    expect(directory.memory).toBe(memory);
    expect(memory.store(PeopleStore)).toBe(directory.people);
    expect(memory.store(Person)).toBe(directory.people);
    expect(memory.store('people')).toBe(directory.people);
    expect(memory.store(Tag)).toBe(directory.tags);
    expect(memory.store('tags')).toBe(directory.tags);
  });

  it('MemoryStoreService.store() of an unknown table fails with an error naming it', () => {
    const error = thrownBy(() => app.get(MemoryStoreService).store('nobody'));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toContain('nobody');
  });

  it('MemoryStoreService.stores() lists every store of the application once', () => {
    const stores = app.get(MemoryStoreService).stores();
    expect(stores).toHaveLength(2);
    expect(stores).toEqual(expect.arrayContaining([directory.people, directory.tags]));
  });

  it('MemoryStoreService.stats() reports each store with its current size and indexes', async () => {
    await directory.people.writeMany([
      { uuid: 'u-1', email: 'a@example.com' },
      { uuid: 'u-2', email: 'b@example.com' },
    ]);
    await directory.tags.write({ id: 1 });
    const stats = app.get(MemoryStoreService).stats();
    const people = stats.find((s) => s.table === 'people');
    const tags = stats.find((s) => s.table === 'tags');
    expect(people).toMatchObject({ store: 'PeopleStore', size: 2, ready: true });
    expect(people?.indexes).toEqual(
      expect.arrayContaining([
        { field: 'department', unique: false },
        { field: 'email', unique: true },
      ]),
    );
    expect(tags).toMatchObject({ size: 1, ready: true });

    await directory.people.delete('u-1');
    expect(
      app
        .get(MemoryStoreService)
        .stats()
        .find((s) => s.table === 'people')?.size,
    ).toBe(1);
  });

  it('gives every application its own records', async () => {
    await directory.people.write({ uuid: 'u-1', email: 'a@example.com' });
    const other = await createApp(RootAppModule.register());
    await other.init();
    try {
      expect(other.get(PeopleStore).size).toBe(0);
      expect(other.get(PeopleStore)).not.toBe(directory.people);
    } finally {
      await other.close();
    }
  });
});
