import { Inject } from '@nestjs/common';
import type { TableClass } from '../interfaces/table-options.interface.js';
import { getStoreToken } from '../memory-store.utils.js';

/**
 * Injects the store of a table: the plain `MemoryStore<T>` that `forFeature([Table])`
 * provides, or the `@Store()` class that holds the table.
 *
 * @example
 * ```ts
 * constructor(@InjectStore(Person) private readonly people: MemoryStore<Person>) {}
 * ```
 */
export function InjectStore(table: TableClass): PropertyDecorator & ParameterDecorator {
  return Inject(getStoreToken(table));
}
