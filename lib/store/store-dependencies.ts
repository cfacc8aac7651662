import { MemoryStoreError } from '../errors/memory-store.error.js';
import { StoreInitializationError } from '../errors/store-initialization.error.js';
import type { StoreDependency } from '../interfaces/store-options.interface.js';
import { STORE_METADATA } from '../metadata/store-metadata.storage.js';
import { TABLE_METADATA } from '../metadata/table-metadata.storage.js';
import type { MemoryStore } from './memory-store.js';
import type { StoreRegistry } from './store-registry.js';

type DependencyClass = abstract new (...args: never[]) => object;

/** Refuses a malformed `dependsOn` where `@Store()` is declared. */
export function checkDependsOn(dependsOn: unknown, where: string): void {
  if (dependsOn === undefined) return;
  if (!Array.isArray(dependsOn))
    throw new MemoryStoreError(`${where}: 'dependsOn' must be an array of store classes`, '');
  for (const [i, entry] of dependsOn.entries()) {
    if (typeof entry === 'function') continue;
    if (typeof (entry as { forwardRef?: unknown })?.forwardRef === 'function') continue;
    throw new MemoryStoreError(
      `${where}: 'dependsOn' entry #${i} must be a store class or forwardRef(() => StoreClass)` +
        (entry === undefined ? ' (got undefined: a circular import? use forwardRef)' : ''),
      '',
    );
  }
}

/**
 * Waits until every store that `store` depends on (`@Store({ dependsOn })`) has started, so
 * that its hooks, seeds and initial state can read them; a dependency not started yet is
 * started now (a store starts once, whoever asks first). A cycle, a dependency no module
 * lists, or one that fails to start fails this store's start-up, naming it.
 */
export async function dependenciesReady(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any store, whatever its records
  store: MemoryStore<any, any, any, any>,
  registry: StoreRegistry,
): Promise<void> {
  const storeClass = store.constructor as DependencyClass;
  const fail = (reason: string, cause?: unknown) =>
    new StoreInitializationError(store.tableName, storeClass.name, reason, cause);
  const dependencies = dependenciesOf(storeClass);
  if (dependencies.length === 0) return;
  const cycle = findCycle(storeClass);
  if (cycle) {
    throw fail(
      `its dependsOn makes a cycle: ${cycle.map((c) => c.name).join(' → ')} (stores start in dependsOn order, so none of these could)`,
    );
  }
  for (const dependency of dependencies) {
    const found = registry.find(dependency);
    const { name } = dependency;
    if (!found && !STORE_METADATA.isStore(dependency) && !TABLE_METADATA.isTable(dependency)) {
      throw fail(
        `it depends on ${name}, which is not a @Store() or @Table() class (dependsOn lists the stores whose start-up this one waits for)`,
      );
    }
    if (!found) {
      throw fail(
        `it depends on ${dependency.name}, which no module lists (add it to MemoryStoreModule.forRoot({ stores }) or forFeature())`,
      );
    }
    try {
      await found.onModuleInit();
    } catch (error) {
      throw fail(
        `it depends on ${dependency.name}, which failed to start: ${(error as Error).message}`,
        error,
      );
    }
  }
}

/** The classes a store class depends on, forward references resolved. */
function dependenciesOf(target: DependencyClass): DependencyClass[] {
  const entries: readonly StoreDependency[] = STORE_METADATA.get(target)?.dependsOn ?? [];
  return entries.map((entry) => (typeof entry === 'function' ? entry : entry.forwardRef()));
}

/** A dependency cycle reachable from `start`, as the path that closes it, if there is one. */
function findCycle(start: DependencyClass): DependencyClass[] | undefined {
  const done = new Set<DependencyClass>();
  const path: DependencyClass[] = [];
  const visit = (node: DependencyClass): DependencyClass[] | undefined => {
    const at = path.indexOf(node);
    if (at >= 0) return [...path.slice(at), node];
    if (done.has(node)) return undefined;
    path.push(node);
    for (const next of dependenciesOf(node)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(node);
    return undefined;
  };
  return visit(start);
}
