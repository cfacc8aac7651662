import { MemoryStoreError } from './errors/memory-store.error.js';
import { STORE_METADATA } from './metadata/store-metadata.storage.js';
import { TABLE_METADATA } from './metadata/table-metadata.storage.js';
import { getTableName } from './metadata/table-schema.js';
import { sweepName } from './store/store-registry.js';

/**
 * The injection token of a table's store: `@InjectStore(Person)` injects with it. For a
 * store class, the class itself is its token too.
 */
export function getStoreToken(entry: abstract new (...args: never[]) => object): string {
  if (entry === undefined || entry === null) {
    throw new MemoryStoreError(
      'getStoreToken() got undefined instead of a table or store class: is there a circular import? ' +
        'Wrap the class in forwardRef(() => Class) or move the import',
      '',
    );
  }
  if (TABLE_METADATA.isTable(entry)) return `MemoryStore<${getTableName(entry)}>`;
  const options = STORE_METADATA.get(entry);
  if (options) return `MemoryStore<${getTableName(options.table)}>`;
  throw new MemoryStoreError(
    `${(entry as { name: string }).name} is neither a @Table() nor a @Store() class`,
    '',
  );
}

/**
 * The name under which a store's TTL sweep is registered in `SchedulerRegistry`:
 * `memory-store:<table>:ttl-sweep`.
 */
export function getSweepName(table: string | (abstract new (...args: never[]) => object)): string {
  return sweepName(
    typeof table === 'string' ? table : getTableName(STORE_METADATA.get(table)?.table ?? table),
  );
}
