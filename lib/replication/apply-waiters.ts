/** A write waiting until this instance has applied the log up to `seq`. */
interface Waiter {
  readonly seq: number;
  readonly table: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The writes of this instance waiting to be applied here (a write resolves once its log
 * entry is applied), and the hold on the log's follower: while anything holds it (a table
 * loads, the group reloads), the follower applies nothing.
 */
export class ApplyWaiters {
  readonly #waiters = new Set<Waiter>();
  /** Open while nothing holds the follower back (see `hold`). */
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #holds = 0;

  /** Resolves once `applied()` reaches `seq` (see `wake`). */
  waitFor(seq: number, table: string): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.add({ seq, table, resolve, reject }));
  }

  /** Resolves the writes applied up to `applied`. */
  wake(applied: number): void {
    for (const waiter of this.#waiters) {
      if (waiter.seq <= applied) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Refuses every waiting write, with the error `refusal` makes for its table. */
  refuseAll(refusal: (table: string) => unknown): void {
    for (const waiter of this.#waiters) waiter.reject(refusal(waiter.table));
    this.#waiters.clear();
  }

  /** True while something holds the follower back. */
  get held(): boolean {
    return this.#gate !== undefined;
  }

  /** Resolves once nothing holds the follower back. */
  async released(): Promise<void> {
    while (this.#gate) await this.#gate;
  }

  /**
   * Holds the follower back (it applies nothing until every hold is released): a table loads,
   * or the group resynchronises, without the log moving under it. Returns the release.
   */
  hold(): () => void {
    if (this.#holds++ === 0) this.#gate = new Promise((resolve) => (this.#open = resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds > 0) return;
      const open = this.#open!;
      this.#gate = undefined;
      this.#open = undefined;
      open();
    };
  }
}
