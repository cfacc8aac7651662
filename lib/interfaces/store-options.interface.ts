import type { StoreRuntimeOptions } from './memory-store-module-options.interface.js';
import type { TableClass } from './table-options.interface.js';

/** A store method to call by name, with its arguments: `['loadSecrets', ['vault', 'eu-1']]`. */
export type StoreMethodCall<S = unknown> = readonly [
  method: S extends object ? Extract<keyof S, string> : string,
  args?: readonly unknown[],
];

/** A `beforeInit` hook: a method call tuple, or a function given the store. */
export type BeforeInitHook<S = unknown> = StoreMethodCall<S> | ((store: S) => unknown);

/** Where `initialState` comes from: a method call tuple, or a function given the store. */
export type InitialStateSource<S = unknown> = StoreMethodCall<S> | ((store: S) => unknown);

/** A seed file: a path (absolute, or relative to the working directory) or a `file:` URL. */
export type SeedFile = string | URL;

/**
 * Options of `@Store()`. Pass the store class as the type argument to have method names in
 * `beforeInit` and `initialState` checked: `@Store<PeopleStore>({ … })`.
 */
export interface StoreOptions<S = unknown> extends StoreRuntimeOptions {
  /** The `@Table()` class whose records the store holds. */
  table: TableClass;
  /**
   * Seed files loaded at start-up, after the `beforeInit` hooks: `.json` (an array of
   * records), `.ndjson`/`.jsonl` (one record a line), or a module (`.js`, `.mjs`, `.cjs`;
   * `.ts` where the runtime loads TypeScript) whose default export (or `seeds` export) is an
   * array or a function returning one. All files load, or none.
   */
  seedFile?: SeedFile | readonly SeedFile[];
  /** Run in order, each awaited, before the seeds load; a failure stops start-up. */
  beforeInit?: readonly BeforeInitHook<S>[];
  /**
   * Produces `store.state` once the store has loaded.
   * @default a function returning `{ startedAt: new Date(), tableName }`
   */
  initialState?: InitialStateSource<S>;
  /**
   * When seed files load: `'always'` on every start, `'if-empty'` only into an empty store.
   * @default 'if-empty' for a persisted store, 'always' for a memory-only one
   */
  seedMode?: 'always' | 'if-empty';
  /**
   * Who may write: `'public'`, anyone holding the store; `'protected'`, only the store's
   * own methods (other providers are injected a read-only view, typed `ReadonlyStore<T>`,
   * whose writes throw `ReadOnlyStoreError`); `'read_only'`, nobody once the store has
   * started (recovery, `beforeInit` hooks, seeds and `initialState` still write).
   * @default 'public'
   */
  access?: StoreAccess;
  /**
   * Stores (or tables) whose start-up completes before this store's `beforeInit` hooks,
   * seeds and `initialState` run, so that they can read them. A cycle fails start-up naming
   * it. `forwardRef(() => OtherStore)` works where the classes import each other.
   * @default []
   */
  dependsOn?: readonly StoreDependency[];
}

/** Who may write to a store: see `StoreOptions.access`. */
export type StoreAccess = 'public' | 'protected' | 'read_only';

/**
 * A store class or table class a store depends on, or Nest's `forwardRef(() => it)`.
 */
export type StoreDependency =
  | (abstract new (...args: never[]) => object)
  | { forwardRef: () => abstract new (...args: never[]) => object };

/** The state a store has unless `initialState` says otherwise. */
export interface DefaultStoreState {
  startedAt: Date;
  tableName: string;
}
