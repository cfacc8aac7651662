import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { StoreReference } from '../store/store-registry.js';
import type { StoreChangeOp } from './store-change.interface.js';

/** Metadata key of `@OnStoreEvent()` on a method. */
export const ON_STORE_EVENT_METADATA = 'memory-store:on-store-event';

/** What one `@OnStoreEvent()` declared. */
export interface OnStoreEventMetadata {
  readonly store: StoreReference;
  readonly ops?: readonly StoreChangeOp[];
}

const OPS: ReadonlySet<string> = new Set([
  'insert',
  'update',
  'delete',
  'expire',
  'evict',
  'clear',
]);

/**
 * Calls the method with every committed change (a `StoreChange`) of a store, or only of
 * some operations. The store is named by its store class, its table class or its table's
 * name. A method may carry several. A listener that throws, or returns a promise that
 * rejects, is logged and changes nothing.
 *
 * @example
 * ```ts
 * @OnStoreEvent(PeopleStore, 'insert')
 * welcome(change: StoreChange<Person>) { … }
 * ```
 */
export function OnStoreEvent(
  store: StoreReference,
  op?: StoreChangeOp | readonly StoreChangeOp[],
): MethodDecorator {
  const ops = op === undefined ? undefined : typeof op === 'string' ? [op] : [...op];
  for (const o of ops ?? []) {
    if (!OPS.has(o)) {
      throw new MemoryStoreError(
        `@OnStoreEvent(): unknown operation '${String(o)}' (use ${[...OPS].join(', ')})`,
        '',
      );
    }
  }
  if (store === undefined || store === null) {
    throw new MemoryStoreError(
      '@OnStoreEvent() got undefined instead of a store: is there a circular import?',
      '',
    );
  }
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const list =
      (Reflect.getMetadata(ON_STORE_EVENT_METADATA, method) as
        OnStoreEventMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(ON_STORE_EVENT_METADATA, [...list, { store, ops }], method);
    return descriptor;
  };
}
