import { StoreInitializationError } from '../errors/store-initialization.error.js';
import type { MemoryStoreModuleOptions } from '../interfaces/memory-store-module-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';

/**
 * Whether a store's table is strict: its `@Table({ strict })`, else the module's `strict`.
 * Checks, at start-up, that the key and index fields are fields the class declares (see
 * `DeclaredFields`): always for a strict table, and for any table whose field list is
 * known to be complete. A misspelt `key: 'uuidd'` or `indexes: ['departmnet']` then fails
 * start-up naming the class and the field, rather than the first write.
 */
export function resolveStrictness(
  schema: TableSchema,
  options: MemoryStoreModuleOptions,
  storeName: string,
): boolean {
  const fail = (reason: string) => new StoreInitializationError(schema.name, storeName, reason);
  if (options.strict !== undefined && typeof options.strict !== 'boolean')
    throw fail("the module's 'strict' option must be true or false");
  const strict = schema.strict ?? options.strict ?? false;
  const { declared, complete } = schema.declaration;
  if (!strict && !complete) return strict;
  const fields: [string, string][] = [
    [schema.bagKey ?? schema.key, 'key'],
    // A dotted index path ('profile.lang') names the field its first segment declares.
    ...schema.indexes.map(({ field }): [string, string] => [field.split('.')[0], 'index']),
    ...schema.compoundIndexes.flatMap(({ fields }) =>
      fields.map((field): [string, string] => [field.split('.')[0], 'index']),
    ),
  ];
  for (const [field, role] of fields) {
    if (declared.has(field)) continue;
    throw fail(
      `the ${role} field '${field}' is not a field of ${schema.target.name} ` +
        (strict
          ? '(the table is strict: give the field an initialiser or a decorator, or list it in @Table({ fields }))'
          : '(a misspelling? a field the class does not declare is listed in @Table({ fields }))'),
    );
  }
  return strict;
}
