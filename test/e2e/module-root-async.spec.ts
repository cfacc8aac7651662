import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MEMORY_STORE_MODULE_OPTIONS, MemoryStore, MemoryStoreService } from 'nestjs-memory-store';
import { createApp } from './fixtures/app.factory.js';
import {
  AsyncAppModule,
  BillingService,
  RegionalPeopleStore,
  type FactoryProbe,
} from './fixtures/async-app.module.js';
import { OrdersStore } from './fixtures/orders.table.js';
import { PeopleStore, Person } from './fixtures/people.table.js';

describe('MemoryStoreModule.forRootAsync() with @nestjs/config', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(probe: FactoryProbe, stores?: 'people' | 'regional') {
    app = await createApp(AsyncAppModule.register(probe, stores));
    await app.init();
    return app;
  }

  it('calls useFactory once with the injected ConfigService and provides its result', async () => {
    const probe: FactoryProbe = { calls: [] };
    const app = await boot(probe);
    expect(probe.calls).toEqual([{ region: 'eu-1' }]);
    expect(app.get(MEMORY_STORE_MODULE_OPTIONS)).toBe(probe.returned);
  });

  it('provides the stores listed in forRootAsync, started', async () => {
    const app = await boot({ calls: [] });
    const people = app.get(PeopleStore);
    expect(people.isReady).toBe(true);
    await people.write({ uuid: 'u-1', email: 'ada@example.com' });
    expect(app.get(MemoryStoreService).store(Person).get('u-1')?.email).toBe('ada@example.com');
  });

  it("provides a feature module's forFeature stores and bare tables next to the root ones", async () => {
    const app = await boot({ calls: [] });
    const billing = app.get(BillingService);
    expect(billing.orders).toBeInstanceOf(OrdersStore);
    expect(billing.tags).toBeInstanceOf(MemoryStore);
    await billing.orders.write({ id: 'o-1', customer: 'acme' });
    await billing.tags.write({ id: 'x' });
    expect(billing.orders.openFor('acme').map((o) => o.id)).toEqual(['o-1']);

    const memory = app.get(MemoryStoreService);
    expect(memory.store('orders')).toBe(billing.orders);
    expect(memory.store('tags')).toBe(billing.tags);
    expect(
      memory
        .stores()
        .map((s) => s.tableName)
        .sort(),
    ).toEqual(['orders', 'people', 'tags']);
  });

  it('lets a store class inject ConfigService and use it in a beforeInit hook', async () => {
    const app = await boot({ calls: [] }, 'regional');
    const store = app.get(RegionalPeopleStore);
    expect(store.isReady).toBe(true);
    expect(store.region).toBe('eu-1');
  });
});
