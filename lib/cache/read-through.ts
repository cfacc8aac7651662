import { Logger } from '@nestjs/common';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { showValue } from '../errors/describe-value.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { outsideTransaction } from '../transactions/transaction-context.js';
import { parseDuration, type Duration } from '../ttl/duration.js';
import type { SlidingTtl } from './sliding-ttl.js';

/** What a loader is given beside the key. */
export interface LoaderContext {
  /**
   * Aborted when every caller waiting for this load has aborted (their own `signal`): the
   * loader may stop then; whatever it returns is not stored.
   */
  readonly signal: AbortSignal;
}

/**
 * Loads the record of a key that the store lacks: returns the record (its key field may be
 * left out: it is set to `key`), or `undefined` when there is none (nothing is stored).
 */
export type Loader<R> = (key: RecordKey, context: LoaderContext) => R | Promise<R>;

/** Options of `store.fetch()`. */
export interface FetchOptions {
  /**
   * The loaded record's time to live, as a write's `ttl`: milliseconds or `'30s'`, `'15m'`…,
   * `{ sliding: true, duration }`, or `null` for none.
   * @default the table's default TTL
   */
  ttl?: Duration | SlidingTtl | null;
  /**
   * For how long past its `ttl` a record is still served, stale, while one load refreshes it
   * in the background: the record is stored to live `ttl + staleWhileRevalidate`, and
   * `fetch()` counts it stale for that last stretch (plain `get()` still returns it). Needs a
   * fixed `ttl` (given, or the table's). A failed refresh is logged and the stale record
   * stays until its deadline.
   * @default none: a record is fresh until it expires
   */
  staleWhileRevalidate?: Duration;
  /**
   * Stops this caller's wait: its promise rejects with the signal's reason. The load goes
   * on for the other callers waiting for it; once none is left, the loader's own signal
   * aborts and its result is not stored.
   */
  signal?: AbortSignal;
}

/** What read-through needs of a store. */
export interface ReadThroughTarget<T> {
  readonly tableName: string;
  get(key: RecordKey): T | undefined;
  ttl(key: RecordKey): number | undefined;
  write(record: never, options: { ttl?: Duration | SlidingTtl | null }): Promise<T>;
}

/** One load under way, and how many callers wait for it. */
interface Load<T> {
  readonly controller: AbortController;
  promise: Promise<T | undefined>;
  waiting: number;
  /** A refresh of a stale record: nobody waits, nothing aborts it. */
  readonly refresh: boolean;
}

const logger = new Logger('MemoryStore');

/**
 * Read-through loading for one store (`store.fetch()`): a key's record, or one call of its
 * loader however many callers ask for the key meanwhile, stored with its TTL. A loader's
 * error reaches every caller waiting for it and is not cached: the next `fetch()` loads again.
 */
export class ReadThrough<T> {
  readonly #loads = new Map<RecordKey, Load<T>>();

  constructor(
    private readonly target: ReadThroughTarget<T>,
    /** The table's key field, and its default TTL when fixed. */
    private readonly keyField: string,
    private readonly fixedTtl: () => number | undefined,
  ) {}

  fetch<R>(key: RecordKey, loader: Loader<R>, options?: FetchOptions): Promise<T | undefined> {
    const record = this.target.get(key);
    if (record !== undefined) {
      if (options?.staleWhileRevalidate !== undefined && this.#stale(key, options))
        this.#start(key, loader, options, true);
      return Promise.resolve(record);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const load = this.#loads.get(key) ?? this.#start(key, loader, options, false);
    load.waiting++;
    return signal ? this.#wait(key, load, signal) : load.promise;
  }

  /** Whether a record found is in its stale stretch (and no refresh runs yet). */
  #stale(key: RecordKey, options: FetchOptions): boolean {
    if (this.#loads.has(key)) return false;
    const left = this.target.ttl(key);
    const stale = parseDuration(options.staleWhileRevalidate, 'staleWhileRevalidate');
    return left !== undefined && left <= stale;
  }

  #start<R>(
    key: RecordKey,
    loader: Loader<R>,
    options: FetchOptions | undefined,
    refresh: boolean,
  ) {
    const ttl = this.#ttl(options);
    const load: Load<T> = {
      controller: new AbortController(),
      promise: undefined!,
      waiting: 0,
      refresh,
    };
    this.#loads.set(key, load);
    // The load serves every caller of the key, in a transaction or not: it stores on its own.
    load.promise = outsideTransaction(() => this.#run(key, loader, ttl, load)).finally(() => {
      if (this.#loads.get(key) === load) this.#loads.delete(key);
    });
    if (!refresh)
      load.promise.catch(() => undefined); // its callers see it; none may be left
    else {
      load.promise.catch((error: unknown) =>
        logger.warn(
          `Refreshing ${showValue(key)} of table '${this.target.tableName}' failed (the stale record stays until its deadline): ${(error as Error)?.message ?? String(error)}`,
        ),
      );
    }
    return load;
  }

  async #run<R>(
    key: RecordKey,
    loader: Loader<R>,
    ttl: Duration | SlidingTtl | null | undefined,
    load: Load<T>,
  ): Promise<T | undefined> {
    const signal = load.controller.signal;
    const base = load.refresh ? this.target.get(key) : undefined;
    const input = await loader(key, { signal });
    if (signal.aborted || input === undefined) return undefined;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      const what = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input;
      throw new MemoryStoreError(
        `The loader of fetch(${showValue(key)}) on '${this.target.tableName}' returned ${what}, not a record or undefined`,
        this.target.tableName,
      );
    }
    const given = (input as Record<string, unknown>)[this.keyField];
    if (given !== undefined && given !== null && given !== key) {
      throw new MemoryStoreError(
        `The loader of fetch(${showValue(key)}) on '${this.target.tableName}' returned a record whose ${this.keyField} is ${showValue(given)}: it would never be found under the key fetched`,
        this.target.tableName,
      );
    }
    // A record written while the loader ran is newer than what it loaded: it stays.
    const current = this.target.get(key);
    if (current !== undefined && current !== base) return current;
    const record = given === key ? input : { ...input, [this.keyField]: key };
    return this.target.write(record as never, ttl === undefined ? {} : { ttl });
  }

  /** The TTL to store a loaded record with: `ttl + staleWhileRevalidate` when stale is allowed. */
  #ttl(options: FetchOptions | undefined): Duration | SlidingTtl | null | undefined {
    const ttl = options?.ttl;
    const stale = options?.staleWhileRevalidate;
    if (stale === undefined) return ttl;
    const name = this.target.tableName;
    const staleMs = parseDuration(stale, `fetch() on '${name}': staleWhileRevalidate`, name);
    const fresh =
      ttl === undefined
        ? this.fixedTtl()
        : typeof ttl === 'object' && ttl !== null
          ? undefined
          : ttl === null
            ? undefined
            : parseDuration(ttl, `fetch() on '${name}': ttl`, name);
    if (fresh === undefined) {
      throw new MemoryStoreError(
        `fetch() on '${name}': staleWhileRevalidate needs a fixed ttl (given to fetch, or the table's), to tell when a record turns stale`,
        name,
      );
    }
    return fresh + staleMs;
  }

  /** The load's outcome for one caller, who stops waiting when its signal aborts. */
  #wait(key: RecordKey, load: Load<T>, signal: AbortSignal): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const abort = () => {
        reject(signal.reason as Error);
        if (--load.waiting > 0 || load.refresh) return;
        load.controller.abort(signal.reason);
        if (this.#loads.get(key) === load) this.#loads.delete(key);
      };
      signal.addEventListener('abort', abort, { once: true });
      load.promise.then(
        (record) => {
          signal.removeEventListener('abort', abort);
          resolve(record);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', abort);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the loader's own error
          reject(error);
        },
      );
    });
  }
}
