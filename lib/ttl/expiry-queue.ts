import type { RecordKey } from '../interfaces/table-options.interface.js';
import { DeadlineBuckets } from './deadline-buckets.js';
import { MinHeap } from './min-heap.js';

/** Width of a near bucket: deadlines within about a second of each other share one. */
const NEAR_WIDTH = 2 ** 10;
/**
 * Width of a far bucket (about 17 minutes), and how far ahead a deadline must be to go into
 * one. A bucket costs a few hundred bytes: with near buckets only, records that live long
 * but are written slowly (one a second, say) would each need one.
 */
const FAR_WIDTH = 2 ** 20;
/** Keys looked up together when expiring (see `expire`). */
const BATCH = 64;
/**
 * A taken bucket at least this large, its deadlines in order, is read in place (a run)
 * rather than pushed into the due heap: few runs at once, so merging them stays cheap.
 */
const RUN_MIN = 1024;
/** Stale entries tolerated beyond one per live key before everything is rebuilt. */
const SLACK = 64;

/**
 * Deadlines of records, by key, and the keys to expire next, found in work proportional to
 * how many expire rather than to the table's size.
 *
 * A deadline goes into a bucket by time, like a timer wheel: a near one (about a second
 * wide) if it is less than FAR_WIDTH ahead, else a far one (about 17 minutes wide). A far
 * bucket is moved into near buckets when its earliest deadline comes; a near bucket is moved
 * into the `due` heap when its earliest deadline comes; keys expire off the top of that heap,
 * earliest deadline first, so the heap only ever holds about a second of deadlines. Each move
 * is a push onto an array. There are at most about a thousand near buckets, and a far one
 * per 17 minutes of deadlines, so memory stays near one entry per record.
 *
 * A changed or cleared deadline leaves its entry behind, stale: skipped when it reaches the
 * top of the due heap (the key's deadline is no longer the entry's), and dropped when
 * everything is rebuilt from the live deadlines, once stale entries outnumber live ones.
 */
export class ExpiryQueue {
  /** Each key's deadline as queued in the buckets (a sliding key's may be older: see `#sliding`). */
  readonly #deadlines = new Map<RecordKey, number>();
  /**
   * Keys whose deadline slides: a renewal moves the deadline where the owner keeps it (the
   * stored record: see `SlidingDeadline`), not here; the queued one stays, and when it comes
   * the key is queued again at its renewed deadline (asked of `#renewed`) instead of
   * expiring. So a read costs a field write, and a key moves in the buckets at most once per
   * period.
   */
  readonly #sliding = new Set<RecordKey>();
  /** A sliding key's renewed deadline, from its owner. */
  readonly #renewed: (key: RecordKey) => number | undefined;
  readonly #near = new DeadlineBuckets(NEAR_WIDTH);
  readonly #far = new DeadlineBuckets(FAR_WIDTH);
  /** Keys by deadline, from the near buckets whose time has come. */
  readonly #due = new MinHeap<RecordKey>();
  /**
   * Near buckets whose time has come and whose deadlines were added in order (records
   * written over time with one time to live): read in place from `at`, merged with the due
   * heap, rather than pushed into it, so that a bucket of any size costs nothing to take.
   */
  readonly #runs: Run[] = [];
  /** Entries in the buckets and the due heap, stale ones included. */
  #entries = 0;
  /** The latest time the queue was told of: where a rebuild puts the near/far boundary. */
  #now = -Infinity;
  readonly #batchKeys: RecordKey[] = [];
  readonly #batchDeadlines: number[] = [];

  /** `renewed(key)` tells a sliding key's renewed deadline (keys set without a period need none). */
  constructor(renewed: (key: RecordKey) => number | undefined = () => undefined) {
    this.#renewed = renewed;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  /** Entries held, stale ones included: never more than about twice `size`. */
  get held(): number {
    return this.#entries;
  }

  /**
   * No key is due before this time: the earliest deadline, or earlier while the entry
   * holding it is stale (a later `expire` finds nothing and moves it on); Infinity when no
   * key has a deadline.
   */
  get next(): number {
    if (this.#deadlines.size === 0) return Infinity;
    const due = this.#due;
    while (due.size > 0 && this.#deadlines.get(due.topValue) !== due.top) {
      due.pop();
      this.#entries--;
    }
    let next = Math.min(due.top, this.#near.earliest, this.#far.earliest);
    const runs = this.#runs;
    for (let r = runs.length - 1; r >= 0; r--) {
      const run = runs[r];
      while (
        run.at < run.keys.length &&
        this.#deadlines.get(run.keys[run.at]) !== run.deadlines[run.at]
      ) {
        run.at++;
        this.#entries--;
      }
      if (run.at === run.keys.length) runs.splice(r, 1);
      else if (run.deadlines[run.at] < next) next = run.deadlines[run.at];
    }
    return next;
  }

  /** The key's deadline (a sliding key's latest renewal). */
  deadline(key: RecordKey): number | undefined {
    if (this.#sliding.size > 0 && this.#sliding.has(key)) {
      const renewed = this.#renewed(key);
      if (renewed !== undefined) return renewed;
    }
    return this.#deadlines.get(key);
  }

  /** How many keys have a sliding deadline. */
  get slidingCount(): number {
    return this.#sliding.size;
  }

  /**
   * Sets the key's deadline; `now` only decides which kind of bucket it goes into. With
   * `sliding`, the owner renews it (see `#renewed`).
   */
  set(key: RecordKey, deadline: number, now: number, sliding = false): void {
    if (sliding) this.#sliding.add(key);
    else if (this.#sliding.size > 0) this.#sliding.delete(key);
    if (this.#deadlines.get(key) === deadline) return;
    this.#deadlines.set(key, deadline);
    if (now > this.#now) this.#now = now;
    this.#add(key, deadline);
    this.#compactIfStale();
  }

  delete(key: RecordKey): void {
    if (this.#sliding.size > 0) this.#sliding.delete(key);
    if (!this.#deadlines.delete(key)) return;
    if (this.#deadlines.size === 0) this.#clearEntries();
    else this.#compactIfStale();
  }

  clear(): void {
    this.#deadlines.clear();
    this.#sliding.clear();
    this.#clearEntries();
  }

  /**
   * Removes the keys whose deadline is at or before `now`, earliest first (keys with equal
   * deadlines in no set order), handing them to `onExpired` a batch at a time, each batch
   * right after its keys were removed; stops once `limit` have, or once `spent()` says the
   * caller's time is up (asked after each batch, so at least one batch expires), so that a
   * caller can spread a large expiry over several calls. Returns how many expired.
   *
   * Batches because the cost is memory latency: looking up a few dozen keys in a row, the
   * processor overlaps their cache misses, where one key at a time it waits for each.
   */
  expire(
    now: number,
    onExpired: (keys: RecordKey[]) => void,
    limit = Infinity,
    spent?: () => boolean,
  ): number {
    if (now > this.#now) this.#now = now;
    const near = this.#near;
    const due = this.#due;
    const far = this.#far;
    while (far.size > 0 && far.earliest <= now) {
      const { keys, deadlines } = far.takeEarliest();
      for (let i = 0; i < keys.length; i++) near.add(keys[i], deadlines[i]);
    }
    while (near.size > 0 && near.earliest <= now) {
      const { keys, deadlines, ordered } = near.takeEarliest();
      if (ordered && keys.length >= RUN_MIN) this.#runs.push({ keys, deadlines, at: 0 });
      else for (let i = 0; i < keys.length; i++) due.push(deadlines[i], keys[i]);
    }
    const runs = this.#runs;
    const current = this.#deadlines;
    const keys = this.#batchKeys;
    const deadlines = this.#batchDeadlines;
    let expired = 0;
    while (expired < limit) {
      let n = 0;
      const most = Math.min(BATCH, limit - expired);
      while (n < most) {
        // the earliest of the due heap's top and each run's next entry
        let top = due.top;
        let from = -1;
        for (let r = 0; r < runs.length; r++) {
          const run = runs[r];
          if (run.deadlines[run.at] < top) {
            top = run.deadlines[run.at];
            from = r;
          }
        }
        if (top > now || top === Infinity) break; // (Infinity: nothing left, even at now = Infinity)
        deadlines[n] = top;
        if (from < 0) keys[n++] = due.pop();
        else {
          const run = runs[from];
          keys[n++] = run.keys[run.at++];
          if (run.at === run.keys.length) runs.splice(from, 1);
        }
      }
      if (n === 0) break;
      this.#entries -= n;
      const live: RecordKey[] = [];
      for (let i = 0; i < n; i++) {
        if (current.get(keys[i]) !== deadlines[i]) continue;
        if (this.#sliding.size > 0 && this.#requeued(keys[i], now)) continue;
        live.push(keys[i]);
      }
      // a key can be in the batch twice (set, deleted, set again to the same deadline)
      let m = 0;
      for (const key of live) {
        if (!current.delete(key)) continue;
        if (this.#sliding.size > 0) this.#sliding.delete(key);
        live[m++] = key;
      }
      live.length = m;
      expired += m;
      if (m > 0) onExpired(live);
      if (spent?.()) break;
    }
    if (current.size === 0) this.#clearEntries();
    else this.#compactIfStale();
    return expired;
  }

  /** How many keys have a deadline at or before `time` (a walk over every key's deadline). */
  countDue(time: number): number {
    let n = 0;
    if (this.#sliding.size > 0) {
      for (const key of this.#deadlines.keys()) if (this.deadline(key)! <= time) n++;
      return n;
    }
    for (const deadline of this.#deadlines.values()) if (deadline <= time) n++;
    return n;
  }

  /** Queues a due sliding key again at its renewed deadline, if that is still ahead. */
  #requeued(key: RecordKey, now: number): boolean {
    if (!this.#sliding.has(key)) return false;
    const deadline = this.#renewed(key);
    if (deadline === undefined || deadline <= now) return false;
    this.#deadlines.set(key, deadline);
    this.#add(key, deadline);
    return true;
  }

  #add(key: RecordKey, deadline: number): void {
    if (deadline - this.#now < FAR_WIDTH) this.#near.add(key, deadline);
    else this.#far.add(key, deadline);
    this.#entries++;
  }

  /** Rebuilds the buckets from the live deadlines once stale entries outnumber live ones. */
  #compactIfStale(): void {
    if (this.#entries <= 2 * this.#deadlines.size + SLACK) return;
    this.#clearEntries();
    for (const [key, deadline] of this.#deadlines) this.#add(key, deadline);
  }

  #clearEntries(): void {
    this.#runs.length = 0;
    this.#near.clear();
    this.#far.clear();
    this.#due.clear();
    this.#entries = 0;
  }
}

/** A taken near bucket whose deadlines are in order, read from `at` on. */
interface Run {
  readonly keys: RecordKey[];
  readonly deadlines: number[];
  at: number;
}
