import type { SlidingTtl } from '../cache/sliding-ttl.js';
import type { Duration } from '../ttl/duration.js';

/** A primary key value: records are keyed by a string or a finite number. */
export type RecordKey = string | number;

/** Options of `@Table()`. */
export interface TableOptions {
  /**
   * The table's name: it names the table in errors, events and `MemoryStoreService.store()`,
   * and must be unique in the application.
   * @default the class name
   */
  name?: string;
  /**
   * The primary key field. Its value must be a string or a finite number.
   * @default 'id'
   */
  key?: string;
  /**
   * Fields with a secondary (non-unique) index. `@Index()` on a property declares one too;
   * `@Index({ unique: true })` declares a unique one.
   * @default []
   */
  indexes?: string[];
  /**
   * `'set'` keeps records in insertion order; `'ordered_set'` keeps them in key order for
   * `all()`, `keys()`, scans and key ranges.
   * @default 'set'
   */
  type?: 'set' | 'ordered_set';
  /**
   * Give a written record without a key the next value of the table's counter (named after
   * the key field). An explicit numeric key raises the counter past it.
   * @default false
   */
  autoIncrement?: boolean;
  /**
   * How long every written record lives unless the write gives its own `ttl`: milliseconds
   * or `'30s'`, `'15m'`, `'1h'`, `'2d'`; `{ sliding: true, duration }` for a deadline that
   * every `get()` renews (see `SlidingTtl`).
   * @default no expiry
   */
  ttl?: Duration | SlidingTtl;
  /**
   * The shape's version. Records persisted (in snapshots, logs, backups, exports) under an
   * older version pass through `migrations` when they are loaded.
   * @default 1
   */
  version?: number;
  /**
   * Upgrades from the previous version: `{ 2: (v1) => v2, 3: (v2) => v3 }`. Each takes a
   * record's fields (plain data) and returns the next version's fields; the result is
   * validated like any write.
   */
  migrations?: Readonly<
    Record<number, (record: Record<string, unknown>) => Record<string, unknown>>
  >;
}

/** Options of `@Index()`. */
export interface IndexOptions {
  /**
   * A unique index rejects a second record with the same value (`DuplicateKeyError`).
   * `null` and missing values are not constrained.
   * @default false
   */
  unique?: boolean;
}

/** A class whose instances are a table's records. */
export type TableClass<T extends object = object> = abstract new (...args: never[]) => T;
