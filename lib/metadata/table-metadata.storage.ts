import type {
  IndexOptions,
  TableClass,
  TableOptions,
} from '../interfaces/table-options.interface.js';

/** An index as `@Index()` declared it. */
export interface DeclaredIndex {
  readonly fields: readonly string[];
  readonly options: IndexOptions;
  /** Declared on a property (its name is a field, never a path), not on the class. */
  readonly onProperty?: boolean;
}

/**
 * Process-wide storage of what `@Table()` and `@Index()` declared, read when a table's
 * schema is compiled.
 */
class TableMetadataStorage {
  readonly #tables = new WeakMap<TableClass, TableOptions>();
  readonly #indexes = new WeakMap<TableClass, Map<string, DeclaredIndex>>();

  setTable(target: TableClass, options: TableOptions): void {
    this.#tables.set(target, options);
  }

  getTable(target: TableClass): TableOptions | undefined {
    return this.#tables.get(target);
  }

  isTable(target: unknown): target is TableClass {
    return typeof target === 'function' && this.#tables.has(target as TableClass);
  }

  /** Declares an index on one field or path, or a compound one on several. */
  addIndex(
    target: TableClass,
    fields: readonly string[],
    options: IndexOptions,
    onProperty = false,
  ): void {
    let declared = this.#indexes.get(target);
    if (!declared) this.#indexes.set(target, (declared = new Map<string, DeclaredIndex>()));
    const name = fields.join(', ');
    const known = declared.get(name);
    declared.set(name, {
      fields,
      options: { ...known?.options, ...options },
      onProperty: onProperty || known?.onProperty === true,
    });
  }

  /**
   * `@Index()` declarations of the class and the classes it extends, nearest last, by their
   * fields joined with ', '.
   */
  getIndexes(target: TableClass): Map<string, DeclaredIndex> {
    const chain: TableClass[] = [];
    for (
      let c: unknown = target;
      typeof c === 'function' && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    ) {
      chain.unshift(c as TableClass);
    }
    const merged = new Map<string, DeclaredIndex>();
    for (const c of chain)
      for (const [name, declared] of this.#indexes.get(c) ?? []) merged.set(name, declared);
    return merged;
  }
}

export const TABLE_METADATA = new TableMetadataStorage();
