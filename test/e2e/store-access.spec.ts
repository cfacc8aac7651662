import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ImportError,
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  MemoryStoreService,
  ReadOnlyStoreError,
  Store,
  Table,
  type ReadonlyStore,
} from 'nestjs-memory-store';
import { createApp, rejectionOf, thrownBy } from './fixtures/app.factory.js';

@Table({ name: 'countries', key: 'code' })
class Country {
  code!: string;
  name = '';
}

@Store<CountriesStore>({
  table: Country,
  access: 'read_only',
  beforeInit: [['load']],
  initialState: ['build'],
})
class CountriesStore extends MemoryStore<Country, { loaded: number }> {
  async load(): Promise<void> {
    await this.writeMany([
      { code: 'FR', name: 'France' },
      { code: 'DE', name: 'Germany' },
    ]);
  }
  async build(): Promise<{ loaded: number }> {
    await this.write({ code: 'IT', name: 'Italy' }); // still starting: allowed
    return { loaded: this.size };
  }
  rename(code: string, name: string): Promise<Country> {
    return this.update(code, { name });
  }
}

@Table({ name: 'prices', key: 'sku' })
class Price {
  sku!: string;
  cents = 0;
}

@Store({ table: Price, access: 'protected' })
class PricesStore extends MemoryStore<Price> {
  setPrice(sku: string, cents: number): Promise<Price> {
    return this.write({ sku, cents });
  }
  /** Writes after awaits: still the store's own method. */
  async raiseAll(percent: number): Promise<number> {
    let raised = 0;
    for (const price of this.all()) {
      await this.update(price.sku, { cents: Math.round((price.cents * (100 + percent)) / 100) });
      raised++;
    }
    return raised;
  }
}

@Injectable()
class Shop {
  constructor(@Inject(PricesStore) readonly prices: ReadonlyStore<PricesStore>) {}
}

@Module({
  imports: [MemoryStoreModule.forRoot({ stores: [CountriesStore, PricesStore] })],
  providers: [Shop],
})
class AccessAppModule {}

describe('@Store({ access })', () => {
  let app: INestApplication | undefined;
  const dirs: string[] = [];

  async function start(): Promise<INestApplication> {
    app = await createApp(AccessAppModule);
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  describe("'read_only'", () => {
    it('takes writes while it starts (hooks, initial state), and refuses every write after', async () => {
      const countries = (await start()).get(CountriesStore);
      expect(countries.keys()).toEqual(['FR', 'DE', 'IT']);
      expect(countries.state).toEqual({ loaded: 3 });
      const before = countries.all();
      const refused: [string, () => Promise<unknown>][] = [
        ['write', () => countries.write({ code: 'ES', name: 'Spain' })],
        ['insert', () => countries.insert({ code: 'ES', name: 'Spain' })],
        ['update', () => countries.update('FR', { name: 'République française' })],
        ['own method', () => countries.rename('FR', 'République française')],
        ['delete', () => countries.delete('FR')],
        ['deleteAll', () => countries.deleteAll()],
        ['writeMany', () => countries.writeMany([{ code: 'ES' }])],
        ['deleteMany', () => countries.deleteMany({ name: 'France' })],
        ['withdraw', () => countries.withdraw({ code: 'FR' })],
        ['nextId', () => countries.nextId('n')],
        ['resetCounter', () => countries.resetCounter('n', 3)],
      ];
      for (const [what, write] of refused) {
        const error = (await rejectionOf(write())) as ReadOnlyStoreError;
        expect([what, error]).toEqual([what, expect.any(ReadOnlyStoreError)]);
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect(error.access).toBe('read_only');
        expect(error.store).toBe('CountriesStore');
        expect(error.table).toBe('countries');
      }
      const dirty = thrownBy(() => countries.dirtyWrite({ code: 'ES' })) as Error;
      expect(dirty).toBeInstanceOf(ReadOnlyStoreError);
      expect(dirty.message).toBe(
        "CountriesStore is read-only (access: 'read_only'): a write is refused once it has started; " +
          'its records come from start-up (recovery, beforeInit hooks, seeds, initialState)',
      );
      expect(countries.all()).toBe(before);
    });

    it('its declared options cannot be changed to lift the access (storeOptions is frozen)', async () => {
      const booted = await start();
      const countries = booted.get(CountriesStore);
      const prices = booted.get(PricesStore);
      const lift = (options: object) => () => Object.assign(options, { access: 'public' });
      expect(thrownBy(lift(countries.storeOptions))).toBeInstanceOf(TypeError);
      expect(thrownBy(lift(prices.storeOptions))).toBeInstanceOf(TypeError);
      await expect(countries.write({ code: 'ES' })).rejects.toThrow(ReadOnlyStoreError);
      expect(booted.get(MemoryStoreService).store(PricesStore)).toBe(prices); // still the view
      await expect(prices.write({ sku: 'x' })).rejects.toThrow(ReadOnlyStoreError);
    });

    it('refuses writes in a transaction and imports', async () => {
      const booted = await start();
      const countries = booted.get(CountriesStore);
      const memory = booted.get(MemoryStoreService);
      const inTransaction = await rejectionOf(
        memory.transaction(() => countries.write({ code: 'ES' })),
      );
      expect(inTransaction).toBeInstanceOf(ReadOnlyStoreError);
      const dir = await mkdtemp(join(tmpdir(), 'newcomer-access-'));
      dirs.push(dir);
      const file = join(dir, 'countries.json');
      await writeFile(file, JSON.stringify([{ code: 'ES', name: 'Spain' }]));
      const imported = (await rejectionOf(memory.import(Country, file))) as ImportError;
      expect(imported).toBeInstanceOf(ImportError);
      expect(imported.cause).toBeInstanceOf(ReadOnlyStoreError);
      expect(countries.size).toBe(3);
    });
    it('is refused a fetch() that would store; restore() still replaces its records', async () => {
      const booted = await start();
      const countries = booted.get(CountriesStore);
      const memory = booted.get(MemoryStoreService);
      expect((await countries.fetch('FR', () => ({ code: 'FR', name: 'x' })))?.name).toBe('France');
      const fetched = await rejectionOf(
        countries.fetch('ES', () => ({ code: 'ES', name: 'Spain' })),
      );
      expect(fetched).toBeInstanceOf(ReadOnlyStoreError);
      const dir = await mkdtemp(join(tmpdir(), 'review16-access-'));
      dirs.push(dir);
      const file = join(dir, 'all.bak');
      await memory.backup(file);
      await app!.close();
      const again = await start();
      const restarted = again.get(CountriesStore);
      expect(restarted.keys()).toEqual(['FR', 'DE', 'IT']);
      const france = restarted.get('FR');
      await again.get(PricesStore).setPrice('p', 1);
      await again.get(MemoryStoreService).restore(file); // takes the read-only table too
      expect(restarted.keys()).toEqual(['FR', 'DE', 'IT']);
      expect(restarted.get('FR')).not.toBe(france); // the backup's record
      expect(again.get(PricesStore).keys()).toEqual([]);
      await expect(restarted.write({ code: 'ES' })).rejects.toThrow(ReadOnlyStoreError);
    });
  });

  describe("'read_only', persisted", () => {
    @Table({ name: 'regions', key: 'code' })
    class Region {
      code!: string;
      loads = 0;
    }
    /** Counts its start-ups in a hook: what start-up writes is logged and recovered. */
    @Store<RegionsStore>({ table: Region, access: 'read_only', beforeInit: [['countStart']] })
    class RegionsStore extends MemoryStore<Region> {
      async countStart(): Promise<void> {
        await this.write({ code: 'starts', loads: (this.get('starts')?.loads ?? 0) + 1 });
      }
    }

    it('recovers what earlier start-ups wrote, and refuses writes once started', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'newcomer-access-'));
      dirs.push(dir);
      const boot = async () => {
        app = await createApp(
          MemoryStoreModule.forRoot({ stores: [RegionsStore], persistence: { dir } }),
        );
        await app.init();
        return app.get(RegionsStore);
      };
      const first = await boot();
      expect(first.get('starts')?.loads).toBe(1);
      await expect(first.write({ code: 'eu' })).rejects.toThrow(ReadOnlyStoreError);
      await app!.close();
      const second = await boot();
      expect(second.keys()).toEqual(['starts']);
      expect(second.get('starts')?.loads).toBe(2);
      await expect(second.update('starts', { loads: 9 })).rejects.toThrow(ReadOnlyStoreError);
    });
  });

  describe("'protected'", () => {
    it("other code gets a read-only view: reads and the class's own methods work, writes throw", async () => {
      const booted = await start();
      const prices = booted.get(PricesStore);
      expect(prices).toBeInstanceOf(PricesStore);
      expect(booted.get(Shop).prices).toBe(prices);
      expect(booted.get(MemoryStoreService).store(PricesStore)).toBe(prices);

      await prices.setPrice('a', 100);
      await prices.setPrice('b', 200);
      expect(await prices.raiseAll(10)).toBe(2);
      expect(prices.get('a')?.cents).toBe(110);
      expect(prices.select({ cents: { $gt: 150 } }).map((p) => p.sku)).toEqual(['b']);
      expect(prices.size).toBe(2);
      expect(prices.getOrThrow('b').cents).toBe(220);

      const write = (await rejectionOf(prices.write({ sku: 'c', cents: 1 }))) as ReadOnlyStoreError;
      expect(write).toBeInstanceOf(ReadOnlyStoreError);
      expect(write.access).toBe('protected');
      expect(write.operation).toBe('write');
      expect(write.message).toBe(
        "PricesStore is protected (access: 'protected'): write() is refused here, as only PricesStore's own " +
          'methods write to it; other code gets its read-only view',
      );
      await expect(prices.update('a', { cents: 1 })).rejects.toThrow(ReadOnlyStoreError);
      await expect(prices.delete('a')).rejects.toThrow(ReadOnlyStoreError);
      await expect(prices.deleteAll()).rejects.toThrow(ReadOnlyStoreError);
      expect(thrownBy(() => prices.dirtyWrite({ sku: 'c' }))).toBeInstanceOf(ReadOnlyStoreError);
      expect(thrownBy(() => prices.sweep())).toBeInstanceOf(ReadOnlyStoreError);
      expect(thrownBy(() => Object.assign(prices, { setPrice: () => undefined }))).toBeInstanceOf(
        ReadOnlyStoreError,
      );
      expect(prices.keys()).toEqual(['a', 'b']);
    });

    it('the view names its class: constructor is the store class, in stores() too', async () => {
      const booted = await start();
      const prices = booted.get(PricesStore);
      expect(prices.constructor).toBe(PricesStore);
      expect(prices.constructor.name).toBe('PricesStore');
      const listed = booted.get(MemoryStoreService).stores();
      expect(listed.map((store) => store.constructor)).toEqual([CountriesStore, PricesStore]);
    });

    it('the view joins as the store does (a join reads, and names the store by its view)', async () => {
      const booted = await start();
      const prices = booted.get(PricesStore);
      await prices.setPrice('FR', 5);
      const joined = booted
        .get(CountriesStore)
        .select({ code: 'FR' }, { join: { price: { store: prices, on: 'code' } } });
      expect(joined.map((c) => [c.code, c.price?.cents])).toEqual([['FR', 5]]);
    });

    it('touch() is a read there, as get() is (both renew a sliding deadline)', async () => {
      const prices = (await start()).get(PricesStore);
      await prices.setPrice('a', 100);
      expect(prices.touch('a')).toBe(true);
      expect(prices.touch('nope')).toBe(false);
    });

    it('fetch() through the view answers with a promise that rejects, as the other async writes do', async () => {
      const prices = (await start()).get(PricesStore);
      await prices.setPrice('a', 100);
      let loaded = 0;
      const fetched = prices.fetch('z', () => ({ sku: 'z', cents: ++loaded }));
      expect(fetched).toBeInstanceOf(Promise);
      const refused = (await rejectionOf(fetched)) as ReadOnlyStoreError;
      expect(refused).toBeInstanceOf(ReadOnlyStoreError);
      expect(refused.operation).toBe('fetch');
      expect(loaded).toBe(0);
      expect(prices.keys()).toEqual(['a']);
    });

    it('its own methods write inside a transaction; imports from outside are refused', async () => {
      const booted = await start();
      const prices = booted.get(PricesStore);
      const memory = booted.get(MemoryStoreService);
      await memory.transaction(async () => {
        await prices.setPrice('t', 5);
        expect(prices.get('t')?.cents).toBe(5);
      });
      expect(prices.get('t')?.cents).toBe(5);
      const dir = await mkdtemp(join(tmpdir(), 'newcomer-access-'));
      dirs.push(dir);
      const file = join(dir, 'prices.json');
      await writeFile(file, JSON.stringify([{ sku: 'x', cents: 1 }]));
      const imported = (await rejectionOf(memory.import(PricesStore, file))) as ImportError;
      expect(imported.cause).toBeInstanceOf(ReadOnlyStoreError);
      expect(prices.keys()).toEqual(['t']);
    });
  });

  it('refuses an unknown access where the store is declared', () => {
    class Odd extends MemoryStore<Price> {}
    const error = thrownBy(() => Store({ table: Price, access: 'private' as 'public' })(Odd));
    expect((error as Error).message).toBe(
      "@Store() on Odd: 'access' must be 'public', 'protected' or 'read_only'",
    );
  });
});
