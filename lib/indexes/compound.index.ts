import type { RecordKey } from '../interfaces/table-options.interface.js';
import { compareValues, rankOf } from '../query/compare.js';
import type { RangeBound } from '../query/query-compiler.js';
import { fieldValue, type SecondaryIndex } from './secondary-index.js';
import { type ListPosition, SortedList } from './sorted-list.js';
import { ValueMap } from './value-map.js';

/** One record in an ordered compound index: its values of the fields, its key, the record. */
interface TupleEntry<T> {
  readonly values: readonly unknown[];
  readonly key: RecordKey;
  readonly record: T;
}

/** Where a walk of an ordered compound index resumes: after this value and key (a cursor). */
export interface SeekPoint {
  readonly value: unknown;
  readonly key: RecordKey;
}

function byTupleThenKey<T>(a: TupleEntry<T>, b: TupleEntry<T>): number {
  for (let i = 0; i < a.values.length; i++) {
    const c = compareValues(a.values[i], b.values[i]);
    if (c !== 0) return c;
  }
  return compareValues(a.key, b.key);
}

/**
 * An index over several fields (or dotted paths) at once. Every kind answers a lookup of the
 * whole tuple; an ordered one also keeps its records sorted by the tuple (then the key), so
 * that an equality on a prefix of the fields with a range or an order on the next one is a
 * seek. A unique one holds each tuple once; a tuple with a null or missing field is not
 * constrained (as in SQL).
 */
export class CompoundIndex<T extends object> implements SecondaryIndex<T> {
  readonly field: string;
  readonly #buckets = new ValueMap<Map<RecordKey, T>>();
  readonly #sorted: SortedList<TupleEntry<T>> | undefined;
  /**
   * Records with an array or object in one of the fields: queries match those by element or
   * by content, which the tuple order cannot find, so the planner leaves the index alone.
   */
  #irregular = 0;
  /** Bumped on every change: positions found for one version hold until the next. */
  #version = 0;
  /** The positions of the last range asked for, which the planner counts and then reads. */
  #lastRange:
    | {
        prefix: readonly unknown[];
        lower?: RangeBound;
        upper?: RangeBound;
        version: number;
        at: [ListPosition, ListPosition];
      }
    | undefined;

  constructor(
    readonly fields: readonly string[],
    readonly unique: boolean,
    readonly ordered: boolean,
  ) {
    this.field = fields.join(', ');
    this.#sorted = ordered ? new SortedList<TupleEntry<T>>(byTupleThenKey) : undefined;
  }

  /** True when no record holds an array or object in the fields, so plans may use the index. */
  get usable(): boolean {
    return this.#irregular === 0;
  }

  /** The record's tuple, or undefined when one of its fields is null or missing. */
  valueOf(record: T): readonly unknown[] | undefined {
    const values = this.#values(record);
    return values.some((v) => v === null || v === undefined) ? undefined : values;
  }

  count(value: unknown): number {
    return this.#buckets.get(value)?.size ?? 0;
  }

  lookup(value: unknown): Iterable<T> {
    return this.#buckets.get(value)?.values() ?? [];
  }

  /** The key holding a tuple, for a unique index. */
  owner(value: unknown): RecordKey | undefined {
    const bucket = this.#buckets.get(value);
    return bucket === undefined ? undefined : bucket.keys().next().value;
  }

  conflict(record: T, key: RecordKey): RecordKey | undefined {
    if (!this.unique) return undefined;
    const tuple = this.valueOf(record);
    if (tuple === undefined) return undefined;
    for (const holder of this.#buckets.get(tuple)?.keys() ?? []) if (holder !== key) return holder;
    return undefined;
  }

  add(key: RecordKey, record: T): void {
    this.#version++;
    const values = this.#values(record);
    if (values.some(irregular)) this.#irregular++;
    let bucket = this.#buckets.get(values);
    if (!bucket) this.#buckets.set(values, (bucket = new Map<RecordKey, T>()));
    bucket.set(key, record);
    this.#sorted?.insert({ values, key, record });
  }

  /** Swaps in `record` for `previous`: filed again, as tuples are built afresh for each record. */
  update(key: RecordKey, record: T, previous: T): void {
    this.remove(key, previous);
    this.add(key, record);
  }

  remove(key: RecordKey, record: T): void {
    this.#version++;
    const values = this.#values(record);
    if (values.some(irregular)) this.#irregular--;
    const bucket = this.#buckets.get(values);
    if (bucket) {
      bucket.delete(key);
      if (bucket.size === 0) this.#buckets.delete(values);
    }
    this.#sorted?.remove({ values, key, record });
  }

  clear(): void {
    this.#version++;
    this.#buckets.clear();
    this.#sorted?.clear();
    this.#irregular = 0;
  }

  /** How many records hold `prefix` in the first fields and lie in the range on the next. */
  countRange(prefix: readonly unknown[], lower?: RangeBound, upper?: RangeBound): number {
    const [start, end] = this.#positions(prefix, lower, upper);
    return this.#sorted!.countBetween(start, end);
  }

  /**
   * The records holding `prefix` in the first fields and lying in the range on the next one
   * (the whole prefix without bounds), in tuple order or reversed. `after` resumes a walk
   * ordered by the next field then the key, past that value and key (last field only).
   */
  *range(
    prefix: readonly unknown[],
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
    direction: 'asc' | 'desc',
    after?: SeekPoint,
  ): Generator<T> {
    const sorted = this.#sorted!;
    let [start, end] = this.#positions(prefix, lower, upper);
    if (after) {
      const n = prefix.length;
      // asc resumes at the first entry past the point; desc stops at the point
      if (direction === 'asc')
        start = later(
          sorted,
          start,
          sorted.position((e) => !follows(e, prefix, n, after)),
        );
      else
        end = earlier(
          sorted,
          end,
          sorted.position((e) => precedes(e, prefix, n, after)),
        );
    }
    for (const entry of sorted.slice(start, end, direction)) yield entry.record;
  }

  /** As `range` without a resume point, in ascending order, in a new array. */
  rangeArray(prefix: readonly unknown[], lower?: RangeBound, upper?: RangeBound): T[] {
    const [start, end] = this.#positions(prefix, lower, upper);
    return this.#sorted!.toArray(start, end, (e) => e.record);
  }

  #positions(
    prefix: readonly unknown[],
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
  ): [ListPosition, ListPosition] {
    const last = this.#lastRange;
    if (
      last?.version === this.#version &&
      last.prefix === prefix &&
      last.lower === lower &&
      last.upper === upper
    )
      return last.at;
    const at = this.#seek(prefix, lower, upper);
    this.#lastRange = { prefix, lower, upper, version: this.#version, at };
    return at;
  }

  #seek(
    prefix: readonly unknown[],
    lower: RangeBound | undefined,
    upper: RangeBound | undefined,
  ): [ListPosition, ListPosition] {
    const sorted = this.#sorted!;
    const n = prefix.length;
    const bound = lower ?? upper;
    const rank = bound === undefined ? undefined : rankOf(bound.value);
    const start = sorted.position((e) => {
      const c = compareTuple(e.values, prefix);
      if (c !== 0) return c < 0;
      if (rank === undefined) return false;
      const v = e.values[n];
      const r = rankOf(v);
      if (r !== rank || !lower) return r < rank || (r === rank && v !== v); // NaN lies in no range
      const d = compareValues(v, lower.value);
      return lower.inclusive ? d < 0 : d <= 0;
    });
    const end = sorted.position((e) => {
      const c = compareTuple(e.values, prefix);
      if (c !== 0) return c < 0;
      if (rank === undefined) return true;
      const v = e.values[n];
      const r = rankOf(v);
      if (r !== rank || !upper) return r <= rank;
      const d = compareValues(v, upper.value);
      return upper.inclusive ? d <= 0 : d < 0;
    });
    return [start, end];
  }

  #values(record: T): unknown[] {
    return this.fields.map((f) => fieldValue(record, f));
  }
}

function irregular(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !(value instanceof Date);
}

/** Compares the first `prefix.length` values of a tuple with a prefix. */
function compareTuple(values: readonly unknown[], prefix: readonly unknown[]): number {
  for (let i = 0; i < prefix.length; i++) {
    const c = compareValues(values[i], prefix[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** True for an entry past the seek point (an asc walk yields only those). */
function follows(
  e: TupleEntry<unknown>,
  prefix: readonly unknown[],
  n: number,
  after: SeekPoint,
): boolean {
  const c = compareTuple(e.values, prefix);
  if (c !== 0) return c > 0;
  return (compareValues(e.values[n], after.value) || compareValues(e.key, after.key)) > 0;
}

/** True for an entry before the seek point (a desc walk yields only those). */
function precedes(
  e: TupleEntry<unknown>,
  prefix: readonly unknown[],
  n: number,
  after: SeekPoint,
): boolean {
  const c = compareTuple(e.values, prefix);
  if (c !== 0) return c < 0;
  return (compareValues(e.values[n], after.value) || compareValues(e.key, after.key)) < 0;
}

function later<E>(list: SortedList<E>, a: ListPosition, b: ListPosition): ListPosition {
  return list.rank(a) >= list.rank(b) ? a : b;
}

function earlier<E>(list: SortedList<E>, a: ListPosition, b: ListPosition): ListPosition {
  return list.rank(a) <= list.rank(b) ? a : b;
}
