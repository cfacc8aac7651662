import type { RecordKey } from '../interfaces/table-options.interface.js';
import { MinHeap } from './min-heap.js';

/** The keys and deadlines that fell in one bucket, in the order they were added. */
export interface DeadlineBucket {
  readonly keys: RecordKey[];
  readonly deadlines: number[];
  /** The least deadline in the bucket. */
  min: number;
  /** True while every deadline was added in order (none before the one added last). */
  ordered: boolean;
}

/**
 * Keys grouped by deadline into buckets `width` ms wide, the buckets ordered by a small heap
 * of their ids: adding costs a push onto an array, and the earliest bucket is taken whole.
 * Entries are never removed one by one; the caller decides which of them are still current.
 */
export class DeadlineBuckets {
  readonly #width: number;
  readonly #buckets = new Map<number, DeadlineBucket>();
  readonly #order = new MinHeap<DeadlineBucket>();
  /** The bucket last added to: records written together mostly share a deadline. */
  #lastId = NaN;
  #last: DeadlineBucket | undefined;

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

  add(key: RecordKey, deadline: number): void {
    const id = Math.floor(deadline / this.#width);
    let bucket = id === this.#lastId ? this.#last : this.#buckets.get(id);
    if (!bucket) {
      bucket = { keys: [], deadlines: [], min: deadline, ordered: true };
      this.#buckets.set(id, bucket);
      this.#order.push(id, bucket);
    }
    if (bucket.ordered && deadline < bucket.deadlines[bucket.deadlines.length - 1])
      bucket.ordered = false;
    bucket.keys.push(key);
    bucket.deadlines.push(deadline);
    if (deadline < bucket.min) bucket.min = deadline;
    this.#lastId = id;
    this.#last = bucket;
  }

  /** Removes the earliest bucket and returns it; only while there is one. */
  takeEarliest(): DeadlineBucket {
    this.#buckets.delete(this.#order.top);
    const bucket = this.#order.pop();
    if (bucket === this.#last) {
      this.#lastId = NaN;
      this.#last = undefined;
    }
    return bucket;
  }

  clear(): void {
    this.#buckets.clear();
    this.#order.clear();
    this.#lastId = NaN;
    this.#last = undefined;
  }
}
