/**
 * A binary min-heap of values by a number priority. Priorities and values live in two
 * parallel arrays rather than a tuple per entry, so a sift compares numbers read straight
 * from an array instead of following a pointer per comparison.
 */
export class MinHeap<V> {
  readonly #priorities: number[] = [];
  readonly #values: V[] = [];

  get size(): number {
    return this.#priorities.length;
  }

  /** The least priority, or Infinity when empty. */
  get top(): number {
    return this.#priorities.length > 0 ? this.#priorities[0] : Infinity;
  }

  /** The value with the least priority; only while not empty. */
  get topValue(): V {
    return this.#values[0];
  }

  push(priority: number, value: V): void {
    const priorities = this.#priorities;
    const values = this.#values;
    let i = priorities.length;
    priorities.push(priority);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (priorities[parent] <= priority) break;
      priorities[i] = priorities[parent];
      values[i] = values[parent];
      i = parent;
    }
    priorities[i] = priority;
    values[i] = value;
  }

  /** Removes the value with the least priority and returns it; only while not empty. */
  pop(): V {
    const priorities = this.#priorities;
    const values = this.#values;
    const top = values[0];
    const priority = priorities.pop()!;
    const value = values.pop()!;
    const n = priorities.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && priorities[child + 1] < priorities[child]) child++;
        if (priorities[child] >= priority) break;
        priorities[i] = priorities[child];
        values[i] = values[child];
        i = child;
      }
      priorities[i] = priority;
      values[i] = value;
    }
    return top;
  }

  clear(): void {
    this.#priorities.length = 0;
    this.#values.length = 0;
  }
}
