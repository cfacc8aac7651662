import type { MemoryTable } from '../engine/memory-table.js';
import { describeValue, errorMessage } from '../errors/describe-value.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { StoreInitializationError } from '../errors/store-initialization.error.js';
import type {
  DefaultStoreState,
  StoreMethodCall,
  StoreOptions,
} from '../interfaces/store-options.interface.js';
import { loadSeeds } from '../seeds/seed-loader.js';

/**
 * Starts a store, in the documented order: (its table and indexes already exist) →
 * `beforeInit` hooks → seed files → initial state. Resolves to the state.
 */
export async function startStore<S extends object>(
  store: S,
  table: MemoryTable<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  options: StoreOptions<S>,
  persisted = false,
  /** Writes the seed records (a replicated store commits them in Redis); else the table does. */
  writeSeeds?: (records: readonly unknown[]) => Promise<void>,
): Promise<unknown> {
  const storeName = store.constructor.name;
  const fail = (reason: string, cause?: unknown) =>
    new StoreInitializationError(table.name, storeName, reason, cause);

  for (const [i, hook] of (options.beforeInit ?? []).entries()) {
    if (!isCall(hook))
      throw fail(`beforeInit hook #${i} ${NOT_A_CALL}, got ${describeValue(hook)}`);
    const label =
      typeof hook === 'function' ? `beforeInit hook #${i}` : `beforeInit hook '${String(hook[0])}'`;
    try {
      await invoke(store, hook);
    } catch (error) {
      throw fail(`${label} failed: ${errorMessage(error)}`, error);
    }
  }

  const seedMode = options.seedMode ?? (persisted ? 'if-empty' : 'always');
  if (options.seedFile !== undefined && (seedMode === 'always' || table.size === 0)) {
    await loadSeeds(table as MemoryTable<object>, options.seedFile, writeSeeds);
  }

  if (options.initialState === undefined) {
    return { startedAt: new Date(), tableName: table.name } satisfies DefaultStoreState;
  }
  if (!isCall(options.initialState))
    throw fail(`initialState ${NOT_A_CALL}, got ${describeValue(options.initialState)}`);
  try {
    return await invoke(store, options.initialState);
  } catch (error) {
    throw fail(`initialState failed: ${errorMessage(error)}`, error);
  }
}

const NOT_A_CALL = 'must be a [methodName, args?] tuple or a function';

/** Whether a hook is a function or a `[methodName, args?]` tuple (checked before it runs). */
function isCall<S extends object>(
  source: unknown,
): source is StoreMethodCall<S> | ((store: S) => unknown) {
  return typeof source === 'function' || (Array.isArray(source) && typeof source[0] === 'string');
}

function invoke<S extends object>(
  store: S,
  source: StoreMethodCall<S> | ((store: S) => unknown),
): unknown {
  if (typeof source === 'function') return source(store);
  const [name, args = []] = source;
  const method = (store as Record<string, unknown>)[name];
  if (typeof method !== 'function') {
    throw new MemoryStoreError(`${store.constructor.name} has no method '${name}'`, '');
  }
  if (!Array.isArray(args))
    throw new MemoryStoreError(`the arguments of '${name}' must be an array`, '');
  return (method as (...a: unknown[]) => unknown).apply(store, args);
}
