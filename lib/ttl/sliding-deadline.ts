/** Returns the object it is given as `this`: lets a subclass add private fields to any object. */
class Adopt {
  constructor(target: object) {
    return target;
  }
}

/**
 * A record's sliding deadline, kept in private fields of the stored record itself (as
 * `Owned` marks values in `stored-values.ts`): a read has the record in hand already, so
 * renewing costs a few field writes next to what it reads, no lookup by key. The fields are
 * no properties (JSON, keys, equality and copies do not see them), and freezing the record
 * does not fix them.
 *
 * The slot is given while a record is built, before it is frozen (a table whose records may
 * slide asks its factory for it: see `RecordFactory.slots`); `start` then sets it. The expiry
 * queue holds a sliding record's deadline as it was when queued, and asks for the renewed one
 * when that comes (see `ExpiryQueue`).
 */
export class SlidingDeadline extends Adopt {
  /** The sliding period in ms; 0 while the record's deadline does not slide. */
  #period = 0;
  /** The latest renewal. */
  #deadline = 0;
  /**
   * The deadline as last persisted: a restart finds this one, so a renewal is reported (to be
   * logged) once the deadline has moved more than half a period past it. A restart thus
   * shortens a deadline by at most half its period.
   */
  #logged = 0;

  /** Gives a record being built (not yet frozen) an empty slot. */
  static give(record: object): void {
    if (!(#period in record)) new SlidingDeadline(record);
  }

  /** Whether the record has a slot (was built by a factory told to give one). */
  static has(record: object): boolean {
    return #period in record;
  }

  /** Makes the record's deadline slide by `period` from `deadline`, reported as persisted. */
  static start(record: object, deadline: number, period: number): void {
    const slot = record as SlidingDeadline;
    slot.#period = period;
    slot.#deadline = deadline;
    slot.#logged = deadline;
  }

  /** Stops the record's deadline from sliding (a later write set a fixed one or none). */
  static stop(record: object): void {
    if (#period in record) record.#period = 0;
  }

  /** Carries a sliding deadline over to the record that replaces `from` (an update keeping it). */
  static carry(from: object, to: object): void {
    if (!(#period in from) || from.#period === 0 || !(#period in to)) return;
    to.#period = from.#period;
    to.#deadline = from.#deadline;
    to.#logged = from.#logged;
  }

  /** The record's renewed deadline, if its deadline slides. */
  static of(record: object | undefined): number | undefined {
    if (record === undefined || !(#period in record) || record.#period === 0) return undefined;
    return record.#deadline;
  }

  /**
   * Moves a sliding deadline to `period` ms past `now` (nothing for other records). Returns
   * the new deadline when it has moved more than half a period past the one last reported
   * (the caller persists it then), else undefined.
   */
  static renew(record: object, now: number): number | undefined {
    if (!(#period in record)) return undefined;
    const period = record.#period;
    if (period === 0) return undefined;
    const deadline = now + period;
    if (deadline <= record.#deadline) return undefined;
    record.#deadline = deadline;
    if (deadline - record.#logged <= period / 2) return undefined;
    record.#logged = deadline;
    return deadline;
  }
}
