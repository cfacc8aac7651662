import { MinHeap } from './min-heap.js';

/** What a bucket holds: anything with a deadline. */
export interface HasDeadline {
  readonly deadline: number;
}

/** The entries that fell in one bucket, in the order they were added. */
export interface DeadlineBucket<E extends HasDeadline> {
  readonly entries: E[];
  /**
   * The entries' deadlines, in the same order: read without touching the entries (a
   * number in an object is a pointer away; in an array of numbers it is not).
   */
  readonly deadlines: number[];
  /** The least deadline in the bucket. */
  min: number;
  /** The greatest deadline in the bucket. */
  max: number;
}

/**
 * Entries grouped by deadline into buckets `width` ms wide, the buckets ordered by a small
 * heap of their ids: adding costs a push onto an array, and the earliest bucket is taken
 * whole. Entries are never removed one by one; the caller decides which are still current.
 */
export class DeadlineBuckets<E extends HasDeadline> {
  readonly #width: number;
  readonly #buckets = new Map<number, DeadlineBucket<E>>();
  readonly #order = new MinHeap<DeadlineBucket<E>>();
  /** The bucket last added to: records written together mostly share a deadline. */
  #lastId = NaN;
  #last: DeadlineBucket<E> | undefined;

  constructor(width: number) {
    this.#width = width;
  }

  /** How many buckets there are. */
  get size(): number {
    return this.#order.size;
  }

  /** The least deadline of the earliest bucket (no deadline in any bucket is earlier), or Infinity. */
  get earliest(): number {
    return this.#order.size > 0 ? this.#order.topValue.min : Infinity;
  }

  add(entry: E): void {
    const deadline = entry.deadline;
    const id = Math.floor(deadline / this.#width);
    let bucket = id === this.#lastId ? this.#last : this.#buckets.get(id);
    if (!bucket) {
      bucket = { entries: [], deadlines: [], min: deadline, max: deadline };
      this.#buckets.set(id, bucket);
      this.#order.push(id, bucket);
    }
    bucket.entries.push(entry);
    bucket.deadlines.push(deadline);
    if (deadline < bucket.min) bucket.min = deadline;
    if (deadline > bucket.max) bucket.max = deadline;
    this.#lastId = id;
    this.#last = bucket;
  }

  /** Removes the earliest bucket and returns it; only while there is one. */
  takeEarliest(): DeadlineBucket<E> {
    this.#buckets.delete(this.#order.top);
    const bucket = this.#order.pop();
    if (bucket === this.#last) {
      this.#lastId = NaN;
      this.#last = undefined;
    }
    return bucket;
  }

  /** Every entry of every bucket, in no set order. */
  *entries(): Generator<E> {
    for (const bucket of this.#buckets.values()) yield* bucket.entries;
  }

  clear(): void {
    this.#buckets.clear();
    this.#order.clear();
    this.#lastId = NaN;
    this.#last = undefined;
  }
}
