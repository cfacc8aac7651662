import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStore, MemoryStoreError, MemoryStoreService } from 'nestjs-memory-store';
import { createApp, failedStartUp } from './fixtures/app.factory.js';
import {
  AuditService,
  FeatureAppModule,
  InvoicesService,
  LabelsService,
  LoginService,
  OrdersService,
  SessionsStore,
  TagsService,
  sessionsProbe,
} from './fixtures/feature-app.module.js';
import { OrdersStore } from './fixtures/orders.table.js';
import { Tag } from './fixtures/people.table.js';
import { seedCalls } from './fixtures/seed-probe.js';

describe('MemoryStoreModule.forFeature()', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('a bare table class', () => {
    beforeEach(async () => {
      app = await createApp(FeatureAppModule.withBareTable());
      await app.init();
    });

    it('gives a plain MemoryStore<T> injected with @InjectStore(Table)', async () => {
      const { tags } = app!.get(TagsService);
      expect(tags).toBeInstanceOf(MemoryStore);
      expect(tags.isReady).toBe(true);
      expect(tags.tableName).toBe('tags');
      const written = await tags.write({ id: 't-1', label: 'vip' });
      expect(written).toBeInstanceOf(Tag);
      expect(tags.get('t-1')).toBe(written);
      expect(tags.select({ label: 'vip' })).toEqual([written]);
      expect(tags.size).toBe(2);
    });

    it('is started before the feature module’s own providers run onModuleInit', () => {
      expect(app!.get(TagsService).readyAtInit).toBe(true);
      expect(app!.get(TagsService).tags.get('default')?.label).toBe('written at init');
    });

    it('is reachable through MemoryStoreService by table class and name', () => {
      const { tags } = app!.get(TagsService);
      const memory = app!.get(MemoryStoreService);
      expect(memory.store(Tag)).toBe(tags);
      expect(memory.store('tags')).toBe(tags);
    });
  });

  describe('one bare table listed in two feature modules', () => {
    it('is one store', async () => {
      app = await createApp(FeatureAppModule.sharedTable());
      await app.init();
      const { tags } = app.get(TagsService);
      const labels = app.get(LabelsService).tags;
      const written = await tags.write({ id: 1, label: 'x' });
      expect(labels.get(1)).toBe(written);
      await labels.deleteAll();
      expect(tags.size).toBe(0);
      expect(app.get(MemoryStoreService).stores()).toHaveLength(1);
    });
  });

  describe('two stores on two tables in two feature modules', () => {
    beforeEach(async () => {
      app = await createApp(FeatureAppModule.sideBySide());
      await app.init();
    });

    it('injects each store in its module, each with its own records', async () => {
      const { orders } = app!.get(OrdersService);
      const { invoices } = app!.get(InvoicesService);
      expect(orders).toBeInstanceOf(OrdersStore);
      await orders.write({ id: 'x-1', customer: 'acme', total: 10 });
      await invoices.write({ id: 'x-1', order: 'x-1' });
      await orders.write({ id: 'x-2', customer: 'acme' });
      expect(orders.size).toBe(2);
      expect(invoices.size).toBe(1);
      expect(orders.get('x-1')?.total).toBe(10);
      expect(invoices.get('x-1')?.paid).toBe(false);
      await invoices.delete('x-1');
      expect(orders.exists('x-1')).toBe(true);
    });

    it('registers both with MemoryStoreService', () => {
      const memory = app!.get(MemoryStoreService);
      expect(memory.store('orders')).toBe(app!.get(OrdersService).orders);
      expect(memory.store('invoices')).toBe(app!.get(InvoicesService).invoices);
      expect(memory.stores()).toHaveLength(2);
    });
  });

  describe.each(['different', 'identical'] as const)(
    'one store class listed in two feature modules (%s lists)',
    (lists) => {
      let login: SessionsStore;
      let audit: SessionsStore;

      beforeEach(async () => {
        sessionsProbe.hooks = 0;
        sessionsProbe.states = 0;
        seedCalls.clear();
        app = await createApp(FeatureAppModule.sharedStore(lists));
        await app.init();
        login = app.get(LoginService).sessions;
        audit = app.get(AuditService).sessions;
      });

      it('is one store: a write through one injection is read through the other', async () => {
        expect(login.get('s-1')).toBe(audit.get('s-1'));
        const written = await login.write({ id: 's-3', user: 'linus' });
        expect(audit.get('s-3')).toBe(written);
        await audit.delete('s-1');
        expect(login.exists('s-1')).toBe(false);
        expect(login.size).toBe(audit.size);
        expect(app!.get(MemoryStoreService).stores()).toHaveLength(lists === 'different' ? 2 : 1);
      });

      it('runs its beforeInit hooks, seeds and initialState once', () => {
        expect(sessionsProbe.hooks).toBe(1);
        expect(seedCalls.get('sessions')).toBe(1);
        expect(sessionsProbe.states).toBe(1);
        expect(login.size).toBe(2);
        expect(login.state).toEqual({ started: 1 });
        expect(audit.state).toBe(login.state);
        expect(login.isReady && audit.isReady).toBe(true);
      });

      it('shares what a beforeInit hook set on the store with both injections', () => {
        expect(login.sign('s-1')).toBe('s-1.s3cret');
        expect(audit.sign('s-1')).toBe('s-1.s3cret');
      });
    },
  );

  describe('two different stores claiming the same table name', () => {
    it.each(['stores', 'tables'] as const)(
      'fails start-up with an error naming the table (two %s)',
      async (kind) => {
        let error: unknown;
        ({ error, app } = await failedStartUp(FeatureAppModule.conflictingStores(kind)));
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect((error as MemoryStoreError).message).toMatch(/'people'/);
        expect((error as MemoryStoreError).message).toMatch(/claimed by two stores/);
        expect((error as MemoryStoreError).table).toBe('people');
      },
    );

    it('names both store classes in the error', async () => {
      let error: unknown;
      ({ error, app } = await failedStartUp(FeatureAppModule.conflictingStores('stores')));
      expect((error as Error).message).toContain('StaffStore');
      expect((error as Error).message).toContain('AlumniStore');
    });
  });

  describe('a store without forRoot()', () => {
    it('fails start-up saying that forRoot() is missing (forFeature alone)', async () => {
      let error: unknown;
      ({ error, app } = await failedStartUp(FeatureAppModule.withoutRoot()));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('OrdersStore');
      expect((error as Error).message).toMatch(/forRoot\(\)/);
    });

    it('fails start-up pointing to forRoot() (a plain provider)', async () => {
      let error: unknown;
      ({ error, app } = await failedStartUp(FeatureAppModule.plainProvider()));
      expect(error).toBeInstanceOf(MemoryStoreError);
      expect((error as Error).message).toContain('OrdersStore');
      expect((error as Error).message).toMatch(/forRoot/);
    });
  });
});
