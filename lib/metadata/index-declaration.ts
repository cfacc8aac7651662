import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { IndexOptions } from '../interfaces/table-options.interface.js';

const INDEX_OPTION_KEYS = new Set<string>(['unique', 'kind']);

/**
 * The fields of a declared index, checked: a field name or dotted path (`'profile.lang'`),
 * or a non-empty list of distinct ones for a compound index. `where` names the declaration
 * (class and fields) in the error thrown for anything else.
 */
export function checkIndexFields(where: string, declared: unknown): string[] {
  const fields: unknown[] = Array.isArray(declared) ? declared : [declared];
  if (fields.length === 0)
    throw new MemoryStoreError(`${where}: a compound index needs at least one field`, '');
  for (const field of fields) {
    if (typeof field !== 'string' || field === '') {
      throw new MemoryStoreError(
        `${where}: ${showFields(field)} is not an index field (a field name or dotted path, or a list of them for a compound index)`,
        '',
      );
    }
    if (field.split('.').some((segment) => segment === '' || FORBIDDEN_KEYS.has(segment))) {
      throw new MemoryStoreError(
        `${where}: '${field}' cannot be an index field (no empty segment, __proto__, constructor or prototype)`,
        '',
      );
    }
  }
  if (new Set(fields).size !== fields.length)
    throw new MemoryStoreError(`${where}: a compound index names a field twice`, '');
  return fields as string[];
}

/** Index options, checked; `where` names the declaration in the error thrown. */
export function checkIndexOptions(where: string, options: unknown): IndexOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new MemoryStoreError(`${where}: options must be an object`, '');
  for (const key of Object.keys(options)) {
    if (!INDEX_OPTION_KEYS.has(key))
      throw new MemoryStoreError(`${where}: unknown option '${key}' (known: unique, kind)`, '');
  }
  const { unique, kind } = options as IndexOptions;
  if (unique !== undefined && typeof unique !== 'boolean')
    throw new MemoryStoreError(`${where}: 'unique' must be true or false`, '');
  if (kind !== undefined && kind !== 'hash' && kind !== 'ordered')
    throw new MemoryStoreError(`${where}: 'kind' must be 'hash' or 'ordered'`, '');
  return options;
}

/** How an index's fields read in messages: `'a'` or `['a', 'b']`. */
export function showFields(declared: unknown): string {
  const show = (f: unknown): string => (typeof f === 'string' ? `'${f}'` : String(f));
  return Array.isArray(declared) ? `[${declared.map(show).join(', ')}]` : show(declared);
}
