import type { RecordKey } from '../interfaces/table-options.interface.js';

/**
 * Deadlines of records, by key, with a min-heap to find the next ones to expire: removing
 * the expired records costs work in proportion to how many expired, not to the table's
 * size. A changed or cleared deadline leaves a stale heap entry behind, skipped when it
 * surfaces and dropped when the heap is rebuilt.
 */
export class ExpiryQueue {
  readonly #deadlines = new Map<RecordKey, number>();
  #heap: [deadline: number, key: RecordKey][] = [];

  get size(): number {
    return this.#deadlines.size;
  }

  /** The earliest deadline, or Infinity. */
  get next(): number {
    while (this.#heap.length > 0) {
      const [deadline, key] = this.#heap[0];
      if (this.#deadlines.get(key) === deadline) return deadline;
      this.#pop();
    }
    return Infinity;
  }

  deadline(key: RecordKey): number | undefined {
    return this.#deadlines.get(key);
  }

  set(key: RecordKey, deadline: number): void {
    if (this.#deadlines.get(key) === deadline) return;
    this.#deadlines.set(key, deadline);
    this.#push([deadline, key]);
    if (this.#heap.length > 2 * this.#deadlines.size + 64) this.#rebuild();
  }

  delete(key: RecordKey): void {
    this.#deadlines.delete(key);
  }

  clear(): void {
    this.#deadlines.clear();
    this.#heap = [];
  }

  /** Removes and returns the keys whose deadline is at or before `now`, earliest first. */
  takeExpired(now: number): RecordKey[] {
    const expired: RecordKey[] = [];
    while (this.#heap.length > 0 && this.#heap[0][0] <= now) {
      const [deadline, key] = this.#pop();
      if (this.#deadlines.get(key) !== deadline) continue;
      this.#deadlines.delete(key);
      expired.push(key);
    }
    return expired;
  }

  #rebuild(): void {
    this.#heap = [];
    for (const [key, deadline] of this.#deadlines) this.#push([deadline, key]);
  }

  #push(entry: [number, RecordKey]): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent][0] <= entry[0]) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): [number, RecordKey] {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right][0] < heap[left][0] ? right : left;
        if (heap[child][0] >= last[0]) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
