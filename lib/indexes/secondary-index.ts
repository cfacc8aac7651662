import type { RecordKey } from '../interfaces/table-options.interface.js';

/** A secondary index over one field of a table's records. */
export interface SecondaryIndex<T extends object> {
  readonly field: string;
  readonly unique: boolean;
  /** How many records hold `value`. */
  count(value: unknown): number;
  /** The records that hold `value`. */
  lookup(value: unknown): Iterable<T>;
  /** The key of another record than `key` that already holds `record`'s value, if any. */
  conflict(record: T, key: RecordKey): RecordKey | undefined;
  add(key: RecordKey, record: T): void;
  /** Puts `record` in place of `previous` when both hold the same value of the field. */
  replace(key: RecordKey, record: T): void;
  remove(key: RecordKey, record: T): void;
  clear(): void;
}

/** The value of `field` in a record. */
export function fieldValue(record: object, field: string): unknown {
  return (record as Record<string, unknown>)[field];
}
