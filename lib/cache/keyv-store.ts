import { MemoryStoreError } from '../errors/memory-store.error.js';
import { tableOf, type MemoryStore } from '../store/memory-store.js';
import { startedStore, type StoreClass } from './started-stores.js';

/** The records of a table behind a Keyv store: a string key field and a `value`. */
export interface KeyvRecord {
  value: unknown;
}

/**
 * A Keyv storage adapter (the shape `new Keyv({ store })` takes, and `@nestjs/cache-manager`'s
 * `CacheModule` wraps in a Keyv of its own), backed by a store's table. Values arrive
 * serialized by Keyv (a string holding the value and its expiry); each is a record
 * `{ <key field>: key, value }` written with Keyv's TTL, so the table's persistence,
 * replication and change events apply to the cache as to any write.
 */
export interface MemoryStoreKeyvAdapter {
  /** Set by Keyv: the prefix of its keys. */
  namespace?: string;
  /** Keyv reads its adapters' options; this one has none. */
  readonly opts: Record<string, unknown>;
  get<Value>(key: string): Promise<Value | undefined>;
  getMany<Value>(keys: string[]): Promise<(Value | undefined)[]>;
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: string[]): Promise<boolean>;
  has(key: string): Promise<boolean>;
  clear(): Promise<void>;
  disconnect(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): this;
}

/**
 * A Keyv store backed by a store's table, for `@nestjs/cache-manager`:
 * `CacheModule.register({ stores: [memoryStoreKeyv(CacheStore)] })`. The store's table needs
 * a string key field and a `value` field. Given the class, the adapter uses the store of that
 * class that started last (one application per process, the usual case); given the store
 * itself (`CacheModule.registerAsync({ inject: [CacheStore], useFactory: (store) => ({
 * stores: [memoryStoreKeyv(store)] }) })`), that one. A TTL of Keyv (milliseconds) becomes
 * the record's; without one, the table's default TTL applies. Nothing of Keyv is imported:
 * the adapter costs nothing to an application that does not use it.
 */
export function memoryStoreKeyv<R extends KeyvRecord>(
  store: StoreClass<MemoryStore<R>> | MemoryStore<R>,
): MemoryStoreKeyvAdapter {
  return new KeyvTableAdapter(store as unknown as StoreClass<MemoryStore<KeyvRecord>>);
}

class KeyvTableAdapter implements MemoryStoreKeyvAdapter {
  namespace?: string;
  readonly opts = {};
  #store: MemoryStore<KeyvRecord> | undefined;
  #keyField: string | undefined;

  constructor(
    private readonly source: StoreClass<MemoryStore<KeyvRecord>> | MemoryStore<KeyvRecord>,
  ) {
    if (typeof source !== 'function') this.#store = source;
  }

  /** The store, found when first used (the class's store starts after the cache is built). */
  get #target(): MemoryStore<KeyvRecord> {
    const source = this.source;
    const store =
      typeof source === 'function' ? (startedStore(source) ?? this.#store) : this.#store;
    if (!store) {
      throw new MemoryStoreError(
        `memoryStoreKeyv(${(source as { name?: string }).name}): that store has not started (list it in ` +
          'MemoryStoreModule.forRoot({ stores }) or forFeature() of the same application)',
        '',
      );
    }
    if (tableOf(store).schema.bagKey !== undefined) {
      throw new MemoryStoreError(
        `memoryStoreKeyv(${store.constructor.name}): a cache keeps one value per key, and '${store.tableName}' is a bag`,
        store.tableName,
      );
    }
    return (this.#store = store);
  }

  #record(key: string, value: unknown): KeyvRecord {
    const store = this.#target;
    const field = (this.#keyField ??= tableOf(store).keyField);
    return { [field]: key, value };
  }

  get<Value>(key: string): Promise<Value | undefined> {
    return settled(() => this.#target.get(key)?.value as Value | undefined);
  }

  getMany<Value>(keys: string[]): Promise<(Value | undefined)[]> {
    return settled(() => {
      const store = this.#target;
      return keys.map((key) => store.get(key)?.value as Value | undefined);
    });
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const record = this.#record(key, value);
    // Keyv's Infinity is an entry that never expires (a write's ttl must be finite).
    const options =
      ttl === Infinity ? { ttl: null } : typeof ttl === 'number' && ttl > 0 ? { ttl } : undefined;
    await this.#target.write(record, options);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#target.delete(key)) !== undefined;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let all = true;
    for (const key of keys) if (!(await this.delete(key))) all = false;
    return all;
  }

  has(key: string): Promise<boolean> {
    return settled(() => this.#target.exists(key));
  }

  async clear(): Promise<void> {
    await this.#target.deleteAll();
  }

  /** The store belongs to the application, which closes it. */
  disconnect(): Promise<void> {
    return Promise.resolve();
  }

  /** Keyv listens for errors; this adapter reports them through its promises instead. */
  on(): this {
    return this;
  }
}

/** A read's result as a promise, rejected with what it throws. */
function settled<R>(read: () => R): Promise<R> {
  return new Promise((resolve) => resolve(read()));
}
