import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { forwardRef, Injectable, type INestApplication } from '@nestjs/common';
import {
  MemoryStore,
  MemoryStoreError,
  MemoryStoreModule,
  Store,
  StoreInitializationError,
  Table,
  type StoreEntry,
} from 'nestjs-memory-store';
import { createApp, delay, failedStartUp, rejectionOf, thrownBy } from './fixtures/app.factory.js';

@Table({ name: 'currencies', key: 'code' })
class Currency {
  code!: string;
  rate = 1;
}

/** Takes a while to load: a dependent that did not wait would find it empty. */
@Store<CurrenciesStore>({ table: Currency, beforeInit: [['load']] })
class CurrenciesStore extends MemoryStore<Currency> {
  async load(): Promise<void> {
    await delay(50);
    await this.writeMany([
      { code: 'EUR', rate: 1 },
      { code: 'USD', rate: 1.1 },
    ]);
  }
}

@Table({ name: 'quotes' })
class Quote {
  id!: string;
  rate = 0;
}

/** Copies the currencies in a hook and counts them in its initial state. */
@Injectable() // its constructor's parameter types are recorded for the stores extending it
abstract class QuotesBase extends MemoryStore<Quote, { currencies: number }> {
  constructor(private readonly currencies: CurrenciesStore) {
    super();
  }
  async copyRates(): Promise<void> {
    for (const c of this.currencies.all()) await this.write({ id: c.code, rate: c.rate });
  }
  summary(): { currencies: number } {
    return { currencies: this.currencies.size };
  }
}

@Store<QuotesStore>({
  table: Quote,
  dependsOn: [CurrenciesStore],
  beforeInit: [['copyRates']],
  initialState: ['summary'],
})
class QuotesStore extends QuotesBase {}

@Store<EagerQuotesStore>({ table: Quote, beforeInit: [['copyRates']], initialState: ['summary'] })
class EagerQuotesStore extends QuotesBase {}

@Table({ name: 'a' })
class A {
  id!: string;
}
@Table({ name: 'b' })
class B {
  id!: string;
}
@Store({ table: A, dependsOn: [forwardRef(() => BStore)] })
class AStore extends MemoryStore<A> {}
@Store({ table: B, dependsOn: [AStore] })
class BStore extends MemoryStore<B> {}

@Table({ name: 'broken' })
class Broken {
  id!: string;
}
@Store({
  table: Broken,
  beforeInit: [
    () => {
      throw new Error('no source');
    },
  ],
})
class BrokenStore extends MemoryStore<Broken> {}
@Store({ table: A, dependsOn: [BrokenStore] })
class NeedsBrokenStore extends MemoryStore<A> {}
@Store({ table: B, dependsOn: [CurrenciesStore] })
class NeedsCurrenciesStore extends MemoryStore<B> {}

describe('@Store({ dependsOn })', () => {
  let app: INestApplication | undefined;

  async function start(stores: StoreEntry[]): Promise<INestApplication> {
    app = await createApp(MemoryStoreModule.forRoot({ stores }));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('runs hooks and the initial state after the stores it depends on are ready', async () => {
    // listed first, so Nest starts it first: dependsOn makes it wait
    const quotes = (await start([QuotesStore, CurrenciesStore])).get(QuotesStore);
    expect(quotes.keys()).toEqual(['EUR', 'USD']);
    expect(quotes.state).toEqual({ currencies: 2 });
  });

  it('without it, a store started first finds its source empty', async () => {
    const quotes = (await start([EagerQuotesStore, CurrenciesStore])).get(EagerQuotesStore);
    expect(quotes.size).toBe(0);
    expect(quotes.state).toEqual({ currencies: 0 });
  });

  it('a cycle fails start-up naming it', async () => {
    const { error, app: failed } = await failedStartUp(
      MemoryStoreModule.forRoot({ stores: [AStore, BStore] }),
    );
    app = failed;
    expect(error).toBeInstanceOf(StoreInitializationError);
    expect((error as Error).message).toMatch(
      /its dependsOn makes a cycle: (AStore → BStore → AStore|BStore → AStore → BStore) /,
    );
  });

  it('a dependency that no module lists, or that fails to start, fails start-up naming it', async () => {
    const missing = await failedStartUp(
      MemoryStoreModule.forRoot({ stores: [NeedsCurrenciesStore] }),
    );
    await missing.app?.close();
    expect(missing.error).toBeInstanceOf(StoreInitializationError);
    expect((missing.error as Error).message).toBe(
      "Store NeedsCurrenciesStore (table 'b') failed to start: it depends on CurrenciesStore, which no module lists " +
        '(add it to MemoryStoreModule.forRoot({ stores }) or forFeature())',
    );
    const { error, app: failed } = await failedStartUp(
      MemoryStoreModule.forRoot({ stores: [NeedsBrokenStore, BrokenStore] }),
    );
    app = failed;
    expect(error).toBeInstanceOf(StoreInitializationError);
    // the dependent's own start-up (which start-up reported first is Nest's choice)
    const dependent = (await rejectionOf(failed!.get(NeedsBrokenStore).onModuleInit())) as Error;
    expect(dependent).toBeInstanceOf(StoreInitializationError);
    expect(dependent.message).toBe(
      "Store NeedsBrokenStore (table 'a') failed to start: it depends on BrokenStore, which failed to start: " +
        "Store BrokenStore (table 'broken') failed to start: beforeInit hook #0 failed: no source",
    );
    expect(dependent.cause).toBeInstanceOf(StoreInitializationError);
  });

  it('a dependency that is not a store (a service class) fails start-up saying so', async () => {
    @Injectable()
    class RatesService {}
    @Table({ name: 'needs-service' })
    class C {
      id!: string;
    }
    @Store({ table: C, dependsOn: [forwardRef(() => RatesService)] })
    class NeedsServiceStore extends MemoryStore<C> {}
    const { error, app: failed } = await failedStartUp(
      MemoryStoreModule.forRoot({ stores: [NeedsServiceStore] }),
    );
    app = failed;
    expect(error).toBeInstanceOf(StoreInitializationError);
    expect((error as Error).message).toBe(
      "Store NeedsServiceStore (table 'needs-service') failed to start: it depends on RatesService, " +
        'which is not a @Store() or @Table() class (dependsOn lists the stores whose start-up this one waits for)',
    );
  });

  it('refuses a dependsOn that is not a list of classes where the store is declared', () => {
    class Odd extends MemoryStore<A> {}
    const error = thrownBy(() => Store({ table: A, dependsOn: [undefined as never] })(Odd));
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as Error).message).toBe(
      "@Store() on Odd: 'dependsOn' entry #0 must be a store class or forwardRef(() => StoreClass) (got undefined: a circular import? use forwardRef)",
    );
  });
});
