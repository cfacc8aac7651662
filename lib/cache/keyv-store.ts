import { createRequire } from 'node:module';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { tableOf, type MemoryStore } from '../store/memory-store.js';
import { startedStore, type StoreClass } from './started-stores.js';

/** The records of a table behind a Keyv store: a string key field and a `value`. */
export interface KeyvRecord {
  value: unknown;
}

/** An entry as Keyv passes it to its storage: the value and when it expires. */
export interface KeyvEntry<Value = unknown> {
  value: Value;
  expires?: number;
}

/**
 * What `memoryStoreKeyv()` returns: a `Keyv` (from the `keyv` package) over a store's table,
 * which `@nestjs/cache-manager`'s `CacheModule` and cache-manager's `createCache` use as it is.
 * The methods cache-manager calls go straight to the table: values are kept as records'
 * `value` (copied and frozen, as any record), never serialized. The rest of Keyv (hooks,
 * stats, events) works as on any Keyv.
 */
export interface MemoryStoreKeyv {
  /** Keyv's options: `store` is the adapter over the table. */
  readonly opts: Record<string, unknown>;
  /** Keyv's hooks (`preGet`, `postGet`, `preSet`, `postSet`, `preDelete`, `postDelete`…). */
  readonly hooks: object;
  /** Keyv's hit, miss, set and delete counts (off unless Keyv's `stats` option is set). */
  readonly stats: object;
  /** The value under `key`, or with `{ raw: true }` the entry with its expiry time. */
  get<Value>(key: string): Promise<Value | undefined>;
  get<Value>(key: string, options: { raw: true }): Promise<KeyvEntry<Value> | undefined>;
  getMany<Value>(keys: string[]): Promise<(Value | undefined)[]>;
  /** Stores `value` under `key` for `ttl` ms (Keyv's default TTL if none; `Infinity`: never expires). */
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  delete(key: string | string[]): Promise<boolean>;
  has(key: string): Promise<boolean>;
  clear(): Promise<void>;
  disconnect(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): this;
}

/**
 * A Keyv backed by a store's table, for `@nestjs/cache-manager`:
 * `CacheModule.register({ stores: [memoryStoreKeyv(CacheStore)] })`. The store's table needs
 * a string key field and a `value` field. Given the class, it uses the store of that class
 * that started last (one application per process, the usual case); given the store itself
 * (`CacheModule.registerAsync({ inject: [CacheStore], useFactory: (store) => ({ stores:
 * [memoryStoreKeyv(store)] }) })`), that one. A TTL of Keyv (milliseconds) becomes the
 * record's; without one, the table's default TTL applies.
 *
 * It is a real `Keyv`, so `CacheModule` uses it as it is rather than wrapping it in a Keyv
 * that JSON-serializes every value: values are stored as records' `value` fields (copied and
 * frozen, so they must be plain data, as any record's), and a `get` returns the stored value
 * itself. `keyv` (a peer of `@nestjs/cache-manager`) is loaded when this is first called.
 * Keys are not prefixed: the table is the namespace. Pass it where a Keyv goes, not to
 * `new Keyv({ store })` (Keyv does not take a Keyv as its storage).
 */
export function memoryStoreKeyv<R extends KeyvRecord>(
  store: StoreClass<MemoryStore<R>> | MemoryStore<R>,
): MemoryStoreKeyv {
  const TableKeyv = tableKeyvClass();
  return new TableKeyv(
    new KeyvTableAdapter(store as unknown as StoreClass<MemoryStore<KeyvRecord>>),
  );
}

/** The parts of Keyv's class the subclass below uses. */
interface KeyvCore {
  readonly hooks: { trigger(event: string, data: unknown): void };
  readonly stats: { hit(): void; miss(): void; set(): void; delete(): void };
  readonly ttl: number | undefined;
}

type TableKeyvClass = new (adapter: KeyvTableAdapter) => MemoryStoreKeyv;
let tableKeyv: TableKeyvClass | undefined;

/** Keyv's class extended with the table's fast paths, built when first needed. */
function tableKeyvClass(): TableKeyvClass {
  if (tableKeyv) return tableKeyv;
  let Keyv: new (options: Record<string, unknown>) => KeyvCore;
  try {
    ({ Keyv } = createRequire(import.meta.url)('keyv') as { Keyv: typeof Keyv });
  } catch (error) {
    throw new MemoryStoreError(
      `memoryStoreKeyv() needs the keyv package, a peer of @nestjs/cache-manager (npm install keyv): ${(error as Error).message}`,
      '',
    );
  }

  /**
   * Overrides what cache-manager calls (get, getMany, set, setMany, delete) to reach the table
   * without Keyv's serialization step; triggers Keyv's hooks and counts its stats as Keyv does.
   * Other methods are Keyv's own, over the adapter (whose entries are `{ value, expires }`).
   */
  class TableKeyv extends Keyv {
    readonly #adapter: KeyvTableAdapter;

    constructor(adapter: KeyvTableAdapter) {
      super({
        store: adapter,
        namespace: undefined,
        useKeyPrefix: false,
        serialize: undefined,
        deserialize: undefined,
      });
      this.#adapter = adapter;
    }

    get(key: string | string[], options?: { raw?: boolean }): Promise<unknown> {
      if (Array.isArray(key)) return this.getMany(key, options);
      try {
        this.hooks.trigger('preGet', { key });
        const record = this.#adapter.record(key);
        const value =
          record === undefined
            ? undefined
            : options?.raw
              ? this.#adapter.entry(key, record)
              : record.value;
        this.hooks.trigger('postGet', { key, value });
        if (record === undefined) this.stats.miss();
        else this.stats.hit();
        return Promise.resolve(value);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the read threw
        return Promise.reject(error);
      }
    }

    getMany(keys: string[], options?: { raw?: boolean }): Promise<unknown[]> {
      try {
        this.hooks.trigger('preGetMany', { keys });
        const values = keys.map((key) => {
          const record = this.#adapter.record(key);
          if (record === undefined) this.stats.miss();
          else this.stats.hit();
          if (record === undefined) return undefined;
          return options?.raw ? this.#adapter.entry(key, record) : record.value;
        });
        this.hooks.trigger('postGetMany', values);
        return Promise.resolve(values);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the read threw
        return Promise.reject(error);
      }
    }

    set(key: string, value: unknown, ttl?: number): Promise<boolean> {
      const data = { key, value, ttl };
      try {
        this.hooks.trigger('preSet', data);
        return this.#adapter.put(data.key, data.value, data.ttl ?? this.ttl).then(() => {
          this.hooks.trigger('postSet', { key: data.key, value: data.value, ttl });
          this.stats.set();
          return true;
        });
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the hook threw
        return Promise.reject(error);
      }
    }

    async setMany(entries: { key: string; value: unknown; ttl?: number }[]): Promise<boolean[]> {
      const results: boolean[] = [];
      for (const { key, value, ttl } of entries) results.push(await this.set(key, value, ttl));
      return results;
    }

    async delete(key: string | string[]): Promise<boolean> {
      if (Array.isArray(key)) return this.#adapter.deleteMany(key);
      this.hooks.trigger('preDelete', { key });
      const deleted = await this.#adapter.delete(key);
      this.hooks.trigger('postDelete', { key, value: deleted });
      this.stats.delete();
      return deleted;
    }
  }
  return (tableKeyv = TableKeyv as unknown as TableKeyvClass);
}

/**
 * Keyv's storage adapter over a store's table, its entries `{ value, expires }` (Keyv with
 * serialization off): each is a record `{ <key field>: key, value }` written with Keyv's TTL,
 * so the table's persistence, replication and change events apply to the cache as to any
 * write.
 */
class KeyvTableAdapter {
  /** Set by Keyv: the prefix of its keys (none here). */
  namespace?: string;
  /** Keyv reads its adapters' options; this one has none. */
  readonly opts = {};
  #store: MemoryStore<KeyvRecord> | undefined;
  #keyField: string | undefined;
  /** The options of the last write with a TTL (see `#options`). */
  #lastOptions: { readonly ttl: number } | undefined;

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

  /** The record under `key`, if any. */
  record(key: string): KeyvRecord | undefined {
    return this.#target.get(key);
  }

  /** The record's value as a Keyv entry, with its expiry time if it has one. */
  entry(key: string, record: KeyvRecord): KeyvEntry {
    const left = this.#target.ttl(key);
    return left === undefined
      ? { value: record.value }
      : { value: record.value, expires: Date.now() + left };
  }

  /** Stores `value` under `key` for `ttl` ms (`Infinity`: never expires; none: the table's TTL). */
  put(key: string, value: unknown, ttl: number | undefined): Promise<unknown> {
    const store = this.#target;
    const field = (this.#keyField ??= tableOf(store).keyField);
    // (a literal with the usual field name is built from a template; a computed name is not)
    const record = field === 'key' ? { key, value } : { [field]: key, value };
    return store.write(record, this.#options(ttl));
  }

  /** A write's options for Keyv's TTL: the same object for the same TTL, as a cache mostly has one. */
  #options(ttl: number | undefined): { ttl: number | null } | undefined {
    if (ttl === Infinity) return NO_TTL;
    if (typeof ttl !== 'number' || !(ttl > 0)) return undefined;
    if (this.#lastOptions?.ttl !== ttl) this.#lastOptions = Object.freeze({ ttl });
    return this.#lastOptions;
  }

  get(key: string): Promise<KeyvEntry | undefined> {
    return settled(() => {
      const record = this.record(key);
      return record === undefined ? undefined : this.entry(key, record);
    });
  }

  getMany(keys: string[]): Promise<(KeyvEntry | undefined)[]> {
    return settled(() =>
      keys.map((key) => {
        const record = this.record(key);
        return record === undefined ? undefined : this.entry(key, record);
      }),
    );
  }

  async set(key: string, entry: KeyvEntry, ttl?: number): Promise<boolean> {
    await this.put(key, entry.value, ttl);
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

/** A write's options for a Keyv TTL of Infinity: no deadline. */
const NO_TTL = Object.freeze({ ttl: null });

/** A read's result as a promise, rejected with what it throws. */
function settled<R>(read: () => R): Promise<R> {
  return new Promise((resolve) => resolve(read()));
}
