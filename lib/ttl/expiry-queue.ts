import type { RecordKey } from '../interfaces/table-options.interface.js';
import { DeadlineBuckets, type DeadlineBucket } from './deadline-buckets.js';
import { MinHeap } from './min-heap.js';

/** Width of a near bucket: deadlines within about a second of each other share one. */
const NEAR_WIDTH = 2 ** 10;
/**
 * Width of a far bucket (about 17 minutes), and how far ahead a deadline must be to go into
 * one. A bucket costs a few hundred bytes: with near buckets only, records that live long
 * but are written slowly (one a second, say) would each need one.
 */
const FAR_WIDTH = 2 ** 20;
/** Records handed to `onExpired` at a time. */
const BATCH = 256;
/** Stale entries tolerated beyond one per live deadline before everything is rebuilt. */
const SLACK = 64;

/**
 * One record's deadline. The queue's buckets hold these, so that expiring a record needs
 * no lookup at all: the entry says which key and record it is for, and whether it still
 * counts. An entry's deadline never changes (a new deadline is a new entry); it is dead
 * once its record left the table or got another deadline (`record` is then undefined).
 */
class Deadline<R> {
  constructor(
    readonly key: RecordKey,
    public record: R | undefined,
    readonly deadline: number,
  ) {}
}

/**
 * The deadlines of a table's records, and the records to expire next, found in work
 * proportional to how many expire rather than to the table's size.
 *
 * A deadline belongs to a record, not a key: the table tells the queue which record
 * replaces which (`put`), so the queue finds a record's deadline through the record itself
 * (a WeakMap) and, when it expires, hands back its key and record without looking either
 * up. That matters because an expiry's cost is memory latency: in a table of a million
 * records each lookup by key is a cache miss, and removing the record from the table's rows
 * is already one. A record that left the table leaves its WeakMap entry to the garbage
 * collector: nothing to delete.
 *
 * A deadline goes into a bucket by time, like a timer wheel: a near one (about a second
 * wide) if it is less than FAR_WIDTH ahead, else a far one (about 17 minutes wide). A far
 * bucket is moved into near buckets when its earliest deadline comes. A near bucket whose
 * deadlines have all passed is expired whole, in deadline order (sorted if it must be); one
 * that has only partly passed goes into the `due` heap, which therefore holds at most about
 * a second of deadlines, and entries leave its top earliest first. There are at most about
 * a thousand near buckets, and a far one per 17 minutes of deadlines, so memory stays near
 * one entry per record.
 *
 * A changed or cleared deadline leaves its entry behind, dead: skipped wherever it turns
 * up, and dropped when everything is rebuilt from the live entries, once dead entries
 * outnumber live ones.
 */
export class ExpiryQueue<R extends object> {
  /** Each record's entry. Also holds entries of records that left (dead, or moved on). */
  #of = new WeakMap<R, Deadline<R>>();
  readonly #near = new DeadlineBuckets<Deadline<R>>(NEAR_WIDTH);
  readonly #far = new DeadlineBuckets<Deadline<R>>(FAR_WIDTH);
  /** Entries by deadline, from near buckets whose time has partly come. */
  readonly #due = new MinHeap<Deadline<R>>();
  /** Records with a deadline. */
  #live = 0;
  /** Entries in the buckets and the due heap, dead ones included. */
  #entries = 0;
  /** The latest time the queue was told of: where a rebuild puts the near/far boundary. */
  #now = -Infinity;
  /** The batch being gathered for `onExpired` (handed over whole, never reused). */
  #batchKeys: RecordKey[] = [];
  #batchRecords: R[] = [];

  /** How many records have a deadline. */
  get size(): number {
    return this.#live;
  }

  /** Entries held, dead ones included: never more than about twice `size`. */
  get held(): number {
    return this.#entries;
  }

  /**
   * No record is due before this time: the earliest deadline, or earlier while the entry
   * holding it is dead (a later `expire` finds nothing and moves it on); Infinity when no
   * record has a deadline.
   */
  get next(): number {
    if (this.#live === 0) return Infinity;
    const due = this.#due;
    while (due.size > 0 && due.topValue.record === undefined) {
      due.pop();
      this.#entries--;
    }
    return Math.min(due.top, this.#near.earliest, this.#far.earliest);
  }

  /** The deadline of a record the table holds, if it has one. */
  deadline(record: R): number | undefined {
    const entry = this.#of.get(record);
    return entry !== undefined && entry.record === record ? entry.deadline : undefined;
  }

  /**
   * Tells the queue that `record` is now the table's record under `key`, in place of
   * `previous` (undefined for a new key), with this deadline: a time, `null` for none, or
   * `undefined` to keep the one `previous` had. `now` only decides which kind of bucket a
   * new deadline goes into.
   */
  put(
    key: RecordKey,
    record: R,
    previous: R | undefined,
    deadline: number | null | undefined,
    now: number,
  ): void {
    let entry = previous === undefined ? undefined : this.#of.get(previous);
    if (entry !== undefined && entry.record !== previous) entry = undefined;
    if (deadline === undefined || (entry !== undefined && entry.deadline === deadline)) {
      if (entry !== undefined && record !== previous) {
        entry.record = record; // the same deadline, now the new record's
        this.#of.set(record, entry);
      }
      return;
    }
    if (entry !== undefined) this.#kill(entry);
    if (deadline === null) return;
    entry = new Deadline(key, record, deadline);
    this.#of.set(record, entry);
    this.#live++;
    if (now > this.#now) this.#now = now;
    this.#add(entry);
    this.#compactIfStale();
  }

  /** Forgets the deadline of a record that left the table (not by expiring). */
  delete(record: R): void {
    const entry = this.#of.get(record);
    if (entry !== undefined && entry.record === record) this.#kill(entry);
  }

  clear(): void {
    this.#of = new WeakMap();
    this.#live = 0;
    this.#clearEntries();
  }

  /**
   * Forgets the deadlines at or before `now` and hands their keys and records to
   * `onExpired`, earliest deadline first (equal deadlines in no set order), a batch at a
   * time. Returns how many expired.
   */
  expire(now: number, onExpired: (keys: RecordKey[], records: R[]) => void): number {
    if (now > this.#now) this.#now = now;
    const near = this.#near;
    const far = this.#far;
    while (far.size > 0 && far.earliest <= now) {
      for (const entry of far.takeEarliest().entries) {
        if (entry.record !== undefined) near.add(entry);
        else this.#entries--;
      }
    }
    const before = this.#live;
    const due = this.#due;
    while (near.size > 0 && near.earliest <= now) {
      const bucket = near.takeEarliest();
      // With nothing in the heap, no other entry is earlier than this bucket's: when all
      // of them have passed, they expire straight from the bucket.
      if (bucket.max <= now && due.size === 0) {
        this.#expireAll(bucket, onExpired);
        continue;
      }
      for (const entry of bucket.entries) {
        if (entry.record !== undefined) due.push(entry.deadline, entry);
        else this.#entries--;
      }
    }
    this.#expireDue(now, onExpired);
    if (this.#live === 0) this.#clearEntries();
    else this.#compactIfStale();
    return before - this.#live;
  }

  /** Expires the entries at the top of the due heap whose deadline is at or before `now`. */
  #expireDue(now: number, onExpired: (keys: RecordKey[], records: R[]) => void): void {
    const due = this.#due;
    while (due.size > 0 && due.top <= now) {
      const entry = due.pop();
      this.#entries--;
      if (entry.record !== undefined && this.#take(entry)) this.#flush(onExpired);
    }
    this.#flush(onExpired);
  }

  /** Expires every live entry of a bucket whose deadlines have all passed, earliest first. */
  #expireAll(
    bucket: DeadlineBucket<Deadline<R>>,
    onExpired: (keys: RecordKey[], records: R[]) => void,
  ): void {
    let entries = bucket.entries;
    // Entries are mostly added in deadline order already (records written over time,
    // each with the same time to live): sort only when they are not.
    const deadlines = bucket.deadlines;
    for (let i = 1; i < deadlines.length; i++) {
      if (deadlines[i] < deadlines[i - 1]) {
        entries = entries.slice().sort((x, y) => x.deadline - y.deadline);
        break;
      }
    }
    this.#entries -= entries.length;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.record !== undefined && this.#take(entry)) this.#flush(onExpired);
    }
    this.#flush(onExpired);
  }

  /** Adds a live entry's record to the batch, forgetting its deadline; true when the batch is full. */
  #take(entry: Deadline<R>): boolean {
    this.#batchKeys.push(entry.key);
    this.#batchRecords.push(entry.record!);
    entry.record = undefined;
    this.#live--;
    return this.#batchKeys.length === BATCH;
  }

  #flush(onExpired: (keys: RecordKey[], records: R[]) => void): void {
    const keys = this.#batchKeys;
    const records = this.#batchRecords;
    if (keys.length === 0) return;
    this.#batchKeys = [];
    this.#batchRecords = [];
    onExpired(keys, records);
  }

  #kill(entry: Deadline<R>): void {
    entry.record = undefined;
    this.#live--;
    if (this.#live === 0) this.#clearEntries();
    else this.#compactIfStale();
  }

  #add(entry: Deadline<R>): void {
    if (entry.deadline - this.#now < FAR_WIDTH) this.#near.add(entry);
    else this.#far.add(entry);
    this.#entries++;
  }

  /** Rebuilds the buckets from the live entries once dead ones outnumber them. */
  #compactIfStale(): void {
    if (this.#entries <= 2 * this.#live + SLACK) return;
    const live: Deadline<R>[] = [];
    for (const source of [this.#near.entries(), this.#far.entries(), this.#due.values()]) {
      for (const entry of source) if (entry.record !== undefined) live.push(entry);
    }
    this.#clearEntries();
    for (const entry of live) this.#add(entry);
  }

  #clearEntries(): void {
    this.#near.clear();
    this.#far.clear();
    this.#due.clear();
    this.#entries = 0;
  }
}
