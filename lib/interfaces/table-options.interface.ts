import type { SlidingTtl } from '../cache/sliding-ttl.js';
import type { Duration } from '../ttl/duration.js';

/** A primary key value: records are keyed by a string or a finite number. */
export type RecordKey = string | number;

/** How a table holds records per key (see `TableOptions.type`). */
export type TableType = 'set' | 'ordered_set' | 'bag' | 'duplicate_bag';

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
   * Secondary (non-unique, hash) indexes: a field name, a dotted path into a nested field
   * (`'profile.lang'`), or a list of fields for a compound (ordered) index
   * (`['department', 'age']`). `@Index()` on a property or the class declares one too, with
   * options (`unique`, `kind`).
   * @default []
   */
  indexes?: (string | readonly string[])[];
  /**
   * `'set'` keeps records in insertion order; `'ordered_set'` keeps them in key order for
   * `all()`, `keys()`, scans and key ranges. `'bag'` keeps many records per key, no two
   * equal (writing a record equal to one the key holds changes nothing), and
   * `'duplicate_bag'` many records per key, equal ones too, as Erlang's ETS does: serve a bag
   * table with a `BagStore`, whose `get(key)` returns the key's records as an array.
   * @default 'set'
   */
  type?: TableType;
  /**
   * Give a written record without a key the next value of the table's counter (named after
   * the key field). An explicit numeric key raises the counter past it.
   * @default false
   */
  autoIncrement?: boolean;
  /**
   * Give a written record without a key a generated one: `'uuid'` is
   * `crypto.randomUUID()`. The key is made where the write is built (before it is logged,
   * committed in Redis or staged in a transaction), so every copy holds the same key. Not
   * with `autoIncrement`.
   * @default none: a record must bring its key
   */
  keyGen?: 'uuid';
  /**
   * Refuse what the class does not declare: a written field the class does not declare is a
   * `StoreValidationError` naming the field and the class, and a field with an initialiser
   * but no class-validator decorator must hold a value of its initialiser's type (a number
   * for `age = 0`, a `Date` for `joined = new Date(0)`, an array, a plain object; any value
   * when the initialiser is `null`). The key and index fields must be declared, checked at
   * start-up. Overrides the module's `strict`.
   *
   * A field is declared when an instance of the class has it (an initialiser, or any field
   * when TypeScript emits class fields: `useDefineForClassFields`, the default from target
   * ES2022), when a class-validator or `@Index()` decorator is on it, or when `fields` lists
   * it. With `useDefineForClassFields: false` (Nest CLI's default target), `email!: string`
   * without a decorator is none of these: list it in `fields`.
   * @default the module's `strict`, else false
   */
  strict?: boolean;
  /**
   * Fields the class declares beyond those an instance shows (see `strict`): needed only for
   * fields without an initialiser or a decorator when the class is compiled with
   * `useDefineForClassFields: false`.
   */
  fields?: readonly string[];
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
  /**
   * `'hash'` answers equality (and `$in`); ranges and orders build a sorted companion on
   * first use. `'ordered'` keeps the records sorted by the index from the start. A compound
   * index serves an equality prefix plus a range or order on the next field only when
   * ordered.
   * @default 'hash' for one field, 'ordered' for a compound index
   */
  kind?: 'hash' | 'ordered';
}

/** A class whose instances are a table's records. */
export type TableClass<T extends object = object> = abstract new (...args: never[]) => T;
