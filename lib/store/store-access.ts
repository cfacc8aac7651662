import { MemoryStoreError } from '../errors/memory-store.error.js';
import { ReadOnlyStoreError } from '../errors/read-only-store.error.js';
import { STORE_METADATA } from '../metadata/store-metadata.storage.js';
import { MemoryStore, shareTable } from './memory-store.js';

/**
 * The members of `MemoryStore` that only read. A `protected` store's view lets these through
 * (and the store class's own methods); every other member of `MemoryStore` throws
 * `ReadOnlyStoreError` there, so that a write method added later is refused until listed.
 */
export type StoreReadMember =
  | 'tableName'
  | 'table'
  | 'state'
  | 'indexes'
  | 'isReady'
  | 'storeOptions'
  | 'replication'
  | 'get'
  | 'getOrThrow'
  | 'touch'
  | 'exists'
  | 'all'
  | 'keys'
  | 'size'
  | 'ttl'
  | 'one'
  | 'select'
  | 'count'
  | 'explain'
  | 'aggregate'
  | 'changes'
  | 'counter'
  | 'hasCounter'
  | 'page'
  | 'watch'
  | 'countDistinct';

const READ_MEMBERS: ReadonlySet<string> = new Set<StoreReadMember>([
  'tableName',
  'table',
  'state',
  'indexes',
  'isReady',
  'storeOptions',
  'replication',
  'get',
  'getOrThrow',
  'touch',
  'exists',
  'all',
  'keys',
  'size',
  'ttl',
  'one',
  'select',
  'count',
  'explain',
  'aggregate',
  'changes',
  'counter',
  'hasCounter',
  'page',
  'watch',
  'countDistinct',
]);

/** Writes that return a promise: refused through the view with a rejected one. */
const ASYNC_WRITES: ReadonlySet<string> = new Set([
  'write',
  'insert',
  'update',
  'delete',
  'deleteAll',
  'writeMany',
  'deleteMany',
  'withdraw',
  'nextId',
  'resetCounter',
  'fetch',
]);

/**
 * A store with its reads only: what code other than the store's own methods may use of a
 * `@Store({ access: 'protected' })` store (and all anyone may use of a `'read_only'` one).
 * Given a store class, it keeps the class's own methods; given a table class, it is the
 * reads of a plain `MemoryStore<T>`. Inject it with the store's token:
 *
 * @example
 * ```ts
 * constructor(@Inject(PricesStore) private readonly prices: ReadonlyStore<PricesStore>) {}
 * ```
 */
export type ReadonlyStore<T extends object> =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records and state
  T extends MemoryStore<any, any>
    ? // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the members of every store
      Omit<T, Exclude<keyof MemoryStore<any, any>, StoreReadMember>>
    : Pick<MemoryStore<T>, Extract<StoreReadMember, keyof MemoryStore<T>>>;

/** Refuses a malformed `access` where `@Store()` is declared. */
export function checkAccess(access: unknown, where: string): void {
  if (access === undefined || access === 'public' || access === 'protected') return;
  if (access === 'read_only') return;
  throw new MemoryStoreError(`${where}: 'access' must be 'public', 'protected' or 'read_only'`, '');
}

const VIEWS = new WeakMap<object, object>();

/**
 * What other code is given of a store: the store itself, or for a `protected` store its
 * read-only view (the same one every time).
 */
export function injectedStore<S extends object>(store: S): S {
  if (STORE_METADATA.get(store.constructor)?.access !== 'protected') return store;
  let view = VIEWS.get(store);
  if (!view) {
    VIEWS.set(store, (view = readOnlyView(store as unknown as MemoryStore)));
    shareTable(view, store as unknown as MemoryStore);
  }
  return view as S;
}

/**
 * A proxy of a protected store: reads and the store class's own methods run on the store
 * itself (so those methods write as usual); `MemoryStore`'s other members, and setting
 * properties, throw `ReadOnlyStoreError`.
 */
function readOnlyView(store: MemoryStore): MemoryStore {
  const refuse = (operation: string) =>
    new ReadOnlyStoreError(store.tableName, store.constructor.name, 'protected', operation);
  const bound = new Map<string, readonly [unknown, unknown]>();
  return new Proxy(store, {
    get(target, prop) {
      if (typeof prop === 'symbol') return Reflect.get(target, prop, target) as unknown;
      const value = Reflect.get(target, prop, target) as unknown;
      if (isRefused(prop)) {
        return ASYNC_WRITES.has(prop)
          ? () => Promise.reject(refuse(prop))
          : () => {
              throw refuse(prop);
            };
      }
      if (typeof value !== 'function' || prop === 'constructor') return value; // the class itself
      const cached = bound.get(prop);
      if (cached && cached[0] === value) return cached[1];
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      bound.set(prop, [value, method]);
      return method;
    },
    set(_target, prop) {
      throw refuse(`setting ${String(prop)}`);
    },
    defineProperty(_target, prop) {
      throw refuse(`defining ${String(prop)}`);
    },
    deleteProperty(_target, prop) {
      throw refuse(`deleting ${String(prop)}`);
    },
  });
}

/** A member of `MemoryStore` that is not a read (nor the start-up Nest calls). */
function isRefused(prop: string): boolean {
  return (
    Object.prototype.hasOwnProperty.call(MemoryStore.prototype, prop) &&
    !READ_MEMBERS.has(prop) &&
    prop !== 'onModuleInit' &&
    prop !== 'constructor'
  );
}
