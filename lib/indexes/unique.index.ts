import type { RecordKey } from '../interfaces/table-options.interface.js';
import { HashIndex } from './hash.index.js';
import { fieldReader, type SecondaryIndex } from './secondary-index.js';
import { ValueMap } from './value-map.js';

/**
 * A unique index: each value belongs to at most one record. `null` and missing values are
 * not constrained (as in SQL), and are kept in a non-unique index of their own. A value maps
 * to its owner's key, not to the record, so that replacing a record by one with the same
 * value leaves the index as it is; a read finds the record in the table's rows. An array
 * value is unique as a whole (two records may share an element, unlike MongoDB), and each of
 * its elements is also filed in a multikey index of its own, so that a lookup of an element
 * finds the records whose array holds it.
 */
export class UniqueIndex<T extends object> implements SecondaryIndex<T> {
  readonly unique = true;
  readonly #owners = new ValueMap<RecordKey>();
  readonly #absent: HashIndex<T>;
  readonly #elements: HashIndex<T>;
  /** The indexed field's value in a record (`fieldValue`, specialised to the field). */
  readonly #read: (record: object) => unknown;

  constructor(
    readonly field: string,
    /** The table's records by key, current whenever the index is read. */
    private readonly rows: ReadonlyMap<RecordKey, T>,
  ) {
    this.#absent = new HashIndex(field);
    this.#elements = new HashIndex(field, true);
    this.#read = fieldReader(field);
  }

  valueOf(record: T): unknown {
    return this.#read(record);
  }

  count(value: unknown): number {
    return this.#wholeCount(value) + this.#elements.count(value);
  }

  lookup(value: unknown): Iterable<T> {
    const whole = this.#wholeLookup(value);
    if (this.#elements.count(value) === 0) return whole;
    return new Set([...whole, ...this.#elements.lookup(value)]); // the owner may hold it too
  }

  #wholeCount(value: unknown): number {
    if (value === null || value === undefined) return this.#absent.count(value);
    return this.#owners.get(value) === undefined ? 0 : 1;
  }

  #wholeLookup(value: unknown): Iterable<T> {
    if (value === null || value === undefined) return this.#absent.lookup(value);
    const owner = this.#owners.get(value);
    return owner === undefined ? [] : [this.rows.get(owner)!];
  }

  /** The key that holds `value`, if any. */
  owner(value: unknown): RecordKey | undefined {
    return this.#owners.get(value);
  }

  conflict(record: T, key: RecordKey): RecordKey | undefined {
    const value = this.#read(record);
    if (value === null || value === undefined) return undefined;
    const owner = this.#owners.get(value);
    return owner !== key ? owner : undefined;
  }

  add(key: RecordKey, record: T): void {
    this.#elements.add(key, record);
    const value = this.#read(record);
    if (value === null || value === undefined) this.#absent.add(key, record);
    else this.#owners.set(value, key);
  }

  /** An unchanged value keeps its owner (the key): only a record without one is swapped in its bucket. */
  update(key: RecordKey, record: T, previous: T): void {
    const value = this.#read(record);
    const before = this.#read(previous);
    if (value !== before) {
      this.remove(key, previous);
      this.add(key, record);
    } else if (value === null || value === undefined) this.#absent.update(key, record, previous);
    else if (Array.isArray(value)) this.#elements.update(key, record, previous);
  }

  remove(key: RecordKey, record: T): void {
    this.#elements.remove(key, record);
    const value = this.#read(record);
    if (value === null || value === undefined) {
      this.#absent.remove(key, record);
      return;
    }
    if (this.#owners.get(value) === key) this.#owners.delete(value);
  }

  clear(): void {
    this.#owners.clear();
    this.#absent.clear();
    this.#elements.clear();
  }
}
