import { Observable } from 'rxjs';
import type { MemoryTable } from '../engine/memory-table.js';
import { QueryError } from '../errors/query.error.js';
import type { StoreChange } from '../events/store-change.interface.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { isPlainObject } from './query-values.js';
import type { SelectOptions } from './query.types.js';
import { compileSelectOptions } from './select-options.js';

/** Options of `watch()`: the order and size of the result, as for `select()`. */
export type WatchOptions<T> = Pick<SelectOptions<T>, 'orderBy' | 'limit'>;

const WATCH_OPTION_KEYS = new Set(['orderBy', 'limit']);

/**
 * A live query: the current result of `select(query, { orderBy, limit })` as an Observable,
 * emitted at subscription and after each batch of committed changes that alters it.
 *
 * Kept up to date from the table's changes, one changed record at a time: a change is tested
 * against the compiled query and placed in (or taken out of) the sorted window by binary
 * search. A window cut by `limit` is read again from the table (its indexes) only when one of
 * its members leaves while more matches lie beyond it. Changes arrive through the change hub,
 * after commit and in commit order; those delivered in one turn (every change of one
 * transaction, for one) are applied together and give at most one emission.
 */
export function liveQuery<T extends object>(
  table: MemoryTable<T>,
  changes: Observable<StoreChange>,
  query: unknown,
  options: unknown,
): Observable<T[]> {
  const name = table.name;
  if (options !== undefined) {
    if (!isPlainObject(options)) throw new QueryError(name, 'watch options must be a plain object');
    for (const key of Object.keys(options))
      if (!WATCH_OPTION_KEYS.has(key))
        throw new QueryError(name, `unknown watch option '${key}' (watch takes orderBy and limit)`);
  }
  const { orderBy, limit } = (options ?? {}) as { orderBy?: unknown; limit?: unknown };
  // Without an order the result comes in key order, so that it is the same on every run.
  const selectOptions = {
    orderBy: orderBy ?? { [table.keyField]: 'asc' },
    ...(limit === undefined ? {} : { limit }),
  };
  const compiled = compileSelectOptions(name, table.keyField, selectOptions);
  const test = table.compile(query).test; // checks the query now: a bad one throws at watch()
  const window = new LiveWindow<T>(
    compiled.compare!,
    compiled.limit,
    (record) => test(record),
    (r) => table.keyOf(r),
    (n) => table.select(query, n === Infinity ? selectOptions : { ...selectOptions, limit: n }),
  );
  return new Observable<T[]>((subscriber) => {
    let last: readonly T[] | undefined;
    let scheduled = false;
    const emit = () => {
      scheduled = false;
      const result = window.result();
      if (last && sameRecords(last, result)) return;
      last = result.slice();
      subscriber.next(result.slice());
    };
    const subscription = changes.subscribe({
      next: (change) => {
        window.apply(change as StoreChange<T>);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(() => {
            if (!subscriber.closed) emit();
          });
        }
      },
      // the application shuts down: what is delivered first is emitted first
      complete: () => queueMicrotask(() => subscriber.complete()),
    });
    window.reset();
    emit();
    return () => subscription.unsubscribe();
  });
}

/**
 * The first `limit` matches of a query in order, kept sorted. When more matches may lie
 * beyond the window (`truncated`), every one of them sorts after `bound`; a member that
 * leaves such a window leaves a hole, filled by a record that sorts before `bound`, or else
 * by reading the window again from the table when the result is next asked for.
 */
class LiveWindow<T extends object> {
  #records: T[] = [];
  readonly #byKey = new Map<RecordKey, T>();
  #truncated = false;
  #bound: T | undefined;

  constructor(
    private readonly compare: (a: T, b: T) => number,
    private readonly limit: number,
    private readonly test: (record: T) => boolean,
    private readonly keyOf: (record: T) => RecordKey,
    private readonly select: (limit: number) => T[],
  ) {}

  /** Reads the window from the table. */
  reset(): void {
    const records = this.select(this.limit === Infinity ? Infinity : this.limit + 1);
    this.#truncated = records.length > this.limit;
    if (this.#truncated) records.length = this.limit;
    this.#records = records;
    this.#bound = records[records.length - 1];
    this.#byKey.clear();
    for (const r of records) this.#byKey.set(this.keyOf(r), r);
  }

  /** The current result, read again from the table first if a hole is left unfilled. */
  result(): readonly T[] {
    if (this.#truncated && this.#records.length < this.limit) this.reset();
    return this.#records;
  }

  apply(change: StoreChange<T>): void {
    if (change.op === 'clear') {
      this.#records = [];
      this.#byKey.clear();
      this.#truncated = false;
      return;
    }
    const key = change.key!;
    const record = change.op === 'insert' || change.op === 'update' ? change.record : undefined;
    const held = this.#byKey.get(key);
    if (held !== undefined) {
      if (record !== undefined && change.diff !== undefined && isEmpty(change.diff)) return; // same values
      this.#remove(key, held);
    }
    if (record !== undefined && this.test(record)) this.#place(key, record);
  }

  #remove(key: RecordKey, record: T): void {
    const records = this.#records;
    let at = this.#search(record);
    if (records[at] !== record) at = records.indexOf(record);
    records.splice(at, 1);
    this.#byKey.delete(key);
  }

  #place(key: RecordKey, record: T): void {
    const records = this.#records;
    const limit = this.limit;
    if (limit === 0) return;
    if (!this.#truncated) {
      if (records.length < limit) return this.#insert(key, record);
      this.#truncated = true; // full: one of the two is now outside
      if (this.compare(record, records[limit - 1]) < 0) {
        this.#insert(key, record);
        this.#drop();
      }
      this.#bound = records[limit - 1];
      return;
    }
    if (this.compare(record, this.#bound!) >= 0) return; // outside, with the others
    this.#insert(key, record);
    if (records.length > limit) this.#drop();
    if (records.length === limit) this.#bound = records[limit - 1];
  }

  #drop(): void {
    this.#byKey.delete(this.keyOf(this.#records.pop()!));
  }

  #insert(key: RecordKey, record: T): void {
    this.#records.splice(this.#search(record), 0, record);
    this.#byKey.set(key, record);
  }

  /** Where `record` sorts in the window: the first position not before it. */
  #search(record: T): number {
    const records = this.#records;
    let low = 0;
    let high = records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.compare(records[mid], record) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

function sameRecords(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}
