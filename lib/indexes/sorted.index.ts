import type { RecordKey } from '../interfaces/table-options.interface.js';
import { compareValues, rankOf } from '../query/compare.js';
import type { RangeBound } from '../query/query-compiler.js';
import { type ListPosition, SortedList } from './sorted-list.js';

/** One record in a sorted index: its value of the field, its key, the record. */
export interface SortedEntry<T> {
  readonly value: unknown;
  readonly key: RecordKey;
  readonly record: T;
}

const byValueThenKey = (a: SortedEntry<unknown>, b: SortedEntry<unknown>): number =>
  compareValues(a.value, b.value) || compareValues(a.key, b.key);

/**
 * Records ordered by one field's value (then by key), for ranges and ordered reads. Ranges
 * stay inside one type rank: a numeric range never yields strings, nor NaN.
 */
export class SortedIndex<T extends object> {
  readonly #list = new SortedList<SortedEntry<T>>(byValueThenKey);
  #arrays = 0;
  /** Bumped on every change: positions found for one version hold until the next. */
  #version = 0;
  /**
   * The positions of the last range asked for, which the planner counts and then reads, and
   * a query asking the same range again finds without a search.
   */
  #lastRange:
    | {
        lower: RangeBound | undefined;
        upper: RangeBound | undefined;
        version: number;
        at: [ListPosition, ListPosition];
      }
    | undefined;

  constructor(
    readonly field: string,
    /** Reads the sorted value of a record (the field, or the key for a key index). */
    private readonly valueOf: (record: T, key: RecordKey) => unknown,
  ) {}

  get size(): number {
    return this.#list.size;
  }

  /**
   * True while a record holds an array in the field: a range of values then misses the
   * records one of whose elements lies in it (a query's range matches them), so the planner
   * reads no range of this index.
   */
  get holdsArrays(): boolean {
    return this.#arrays > 0;
  }

  add(key: RecordKey, record: T): void {
    const value = this.valueOf(record, key);
    if (Array.isArray(value)) this.#arrays++;
    this.#version++;
    this.#list.insert({ value, key, record });
  }

  /** Puts `record` in place of `previous`: in its entry's place if its value did not change. */
  update(key: RecordKey, record: T, previous: T): void {
    const value = this.valueOf(record, key);
    if (value === this.valueOf(previous, key) && this.#list.replace({ value, key, record })) return;
    this.remove(key, previous);
    this.add(key, record);
  }

  remove(key: RecordKey, record: T): void {
    const value = this.valueOf(record, key);
    if (Array.isArray(value)) this.#arrays--;
    this.#version++;
    this.#list.remove({ value, key, record });
  }

  clear(): void {
    this.#list.clear();
    this.#arrays = 0;
    this.#version++;
  }

  /** Records in order, first to last or last to first. */
  *all(direction: 'asc' | 'desc' = 'asc'): Generator<T> {
    for (const entry of this.#list.slice([0, 0], this.#list.end(), direction)) yield entry.record;
  }

  /** Records whose value lies within the bounds (of the bounds' rank), in order. */
  *range(
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
    direction: 'asc' | 'desc' = 'asc',
  ): Generator<T> {
    const [start, end] = this.#positions(lower, upper);
    for (const entry of this.#list.slice(start, end, direction)) yield entry.record;
  }

  /**
   * Records past a value and key, in order (asc) or before it in reverse order (desc): a
   * keyset page resumes here with a seek instead of skipping what came before.
   */
  *after(value: unknown, key: RecordKey, direction: 'asc' | 'desc'): Generator<T> {
    const list = this.#list;
    const at = list.position(
      (e) => (compareValues(e.value, value) || compareValues(e.key, key)) <= 0,
    );
    const from = direction === 'asc' ? at : ([0, 0] as const);
    const to =
      direction === 'asc'
        ? list.end()
        : list.position((e) => (compareValues(e.value, value) || compareValues(e.key, key)) < 0);
    for (const entry of list.slice(from, to, direction)) yield entry.record;
  }

  /**
   * The records of a range (the whole index without bounds), in order, that pass `test`,
   * past the first `offset` of them and at most `limit`, in a new array: a page read without
   * a generator.
   */
  page(
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
    direction: 'asc' | 'desc',
    test: (record: T) => boolean,
    offset: number,
    limit: number,
  ): T[] {
    const list = this.#list;
    const [start, end] =
      lower || upper ? this.#positions(lower, upper) : [[0, 0] as const, list.end()];
    const out: T[] = [];
    let skip = offset;
    if (limit > 0)
      list.walk(start, end, direction, ({ record }) => {
        if (!test(record)) return false;
        if (skip > 0) skip--;
        else out.push(record);
        return out.length >= limit;
      });
    return out;
  }

  /** How many records the range holds. */
  countRange(lower: RangeBound | undefined, upper: RangeBound | undefined): number {
    const [start, end] = this.#positions(lower, upper);
    return this.#list.countBetween(start, end);
  }

  #positions(
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
  ): [ListPosition, ListPosition] {
    const last = this.#lastRange;
    if (
      last?.version === this.#version &&
      sameBound(last.lower, lower) &&
      sameBound(last.upper, upper)
    )
      return last.at;
    const at = this.#seek(lower, upper);
    this.#lastRange = { lower, upper, version: this.#version, at };
    return at;
  }

  #seek(
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
  ): [ListPosition, ListPosition] {
    const rank = rankOf((lower ?? upper)!.value);
    // NaN sorts first among numbers and lies in no range: without a lower bound, a numeric
    // range starts after the NaNs (a lower bound is above them already).
    const start = this.#list.position((e) => {
      const r = rankOf(e.value);
      if (r !== rank || !lower) return r < rank || (r === rank && e.value !== e.value);
      const c = compareValues(e.value, lower.value);
      return lower.inclusive ? c < 0 : c <= 0;
    });
    const end = this.#list.position((e) => {
      const r = rankOf(e.value);
      if (r !== rank || !upper) return r <= rank;
      const c = compareValues(e.value, upper.value);
      return upper.inclusive ? c <= 0 : c < 0;
    });
    return [start, end];
  }
}

/** Whether two bounds are one, or alike (the same primitive value, both inclusive or not). */
function sameBound(a: RangeBound | undefined, b: RangeBound | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.inclusive !== b.inclusive) return false;
  const v = a.value;
  return (typeof v !== 'object' || v === null) && Object.is(v, b.value);
}
