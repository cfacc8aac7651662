import type {
  IndexOptions,
  TableClass,
  TableOptions,
} from '../interfaces/table-options.interface.js';

/**
 * Process-wide storage of what `@Table()` and `@Index()` declared, read when a table's
 * schema is compiled.
 */
class TableMetadataStorage {
  readonly #tables = new WeakMap<TableClass, TableOptions>();
  readonly #indexes = new WeakMap<TableClass, Map<string, IndexOptions>>();

  setTable(target: TableClass, options: TableOptions): void {
    this.#tables.set(target, options);
  }

  getTable(target: TableClass): TableOptions | undefined {
    return this.#tables.get(target);
  }

  isTable(target: unknown): target is TableClass {
    return typeof target === 'function' && this.#tables.has(target as TableClass);
  }

  addIndex(target: TableClass, field: string, options: IndexOptions): void {
    let fields = this.#indexes.get(target);
    if (!fields) this.#indexes.set(target, (fields = new Map<string, IndexOptions>()));
    fields.set(field, { ...fields.get(field), ...options });
  }

  /** `@Index()` declarations of the class and the classes it extends, nearest last. */
  getIndexes(target: TableClass): Map<string, IndexOptions> {
    const chain: TableClass[] = [];
    for (
      let c: unknown = target;
      typeof c === 'function' && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    ) {
      chain.unshift(c as TableClass);
    }
    const merged = new Map<string, IndexOptions>();
    for (const c of chain)
      for (const [field, opts] of this.#indexes.get(c) ?? []) merged.set(field, opts);
    return merged;
  }
}

export const TABLE_METADATA = new TableMetadataStorage();
