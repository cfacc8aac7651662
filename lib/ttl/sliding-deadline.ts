import { Adopt } from '../engine/adopt.js';

/**
 * Deadlines are kept as milliseconds past this time (the module's loading), not since the
 * epoch: for weeks of uptime they are small integers, which V8 stores in the record itself,
 * where a time since the epoch needs a boxed number (one more memory access per renewal).
 * Larger ones work the same, only slower.
 */
const EPOCH = Date.now();

/**
 * A renewal that would move a deadline by less than this fraction of its period is skipped,
 * so that a record read over and over is written at most about this many times per period
 * (a read then only compares). A deadline thus falls short of `now + period` by less than
 * `period / RENEW_STEPS`.
 */
const RENEW_STEPS = 1024;

/** `RenewMark`'s value for a record whose deadline does not slide (the largest small integer). */
const NEVER = 2 ** 30 - 1;

/**
 * The one field a read of a slotted record looks at: the time (ms past `EPOCH`) from which a
 * read renews its deadline. A record's constructor gives it first, so that it sits next to the
 * record's header, which the read loads anyway; the rest of the slot (`SlidingDeadline`) is
 * only read when a renewal is due.
 */
class RenewMark extends Adopt {
  #after = NEVER;

  static give(record: object): void {
    new RenewMark(record);
  }

  /** Whether a renewal is due at `time` (ms past `EPOCH`). */
  static due(record: object, time: number): boolean {
    return #after in record && time >= record.#after;
  }

  static set(record: object, after: number): void {
    if (#after in record) record.#after = after;
  }
}

/**
 * A record's sliding deadline, kept in private fields of the stored record itself (as
 * `Owned` marks values in `stored-values.ts`): a read has the record in hand already, so
 * renewing costs a comparison with a field next to the record's header (and, once per
 * `period / RENEW_STEPS`, a few field writes), no lookup by key. The fields are no
 * properties (JSON, keys, equality and copies do not see them), and freezing the record does
 * not fix them.
 *
 * The slot is given while a record is constructed (a table whose records may slide has its
 * factory build them so: see `RecordFactory.slots` and `SLIDING_SLOT`); `start` then sets it.
 * The expiry queue holds a sliding record's deadline as it was when queued, and asks for the
 * renewed one when that comes (see `ExpiryQueue`).
 */
export class SlidingDeadline extends Adopt {
  /** The sliding period in ms; 0 while the record's deadline does not slide. */
  #period = 0;
  /** The latest renewal (ms past `EPOCH`). */
  #deadline = 0;
  /**
   * The deadline as last persisted: a restart finds this one, so a renewal is reported (to be
   * logged) once the deadline has moved more than half a period past it. A restart thus
   * shortens a deadline by at most half its period. (ms past `EPOCH`)
   */
  #logged = 0;

  /** Whether the record has a slot (was built by a factory told to give one). */
  static has(record: object): boolean {
    return #period in record;
  }

  /** Makes the record's deadline slide by `period` from `deadline`, reported as persisted. */
  static start(record: object, deadline: number, period: number): void {
    const slot = record as SlidingDeadline;
    slot.#period = period;
    slot.#deadline = deadline - EPOCH;
    slot.#logged = deadline - EPOCH;
    RenewMark.set(record, renewAfter(deadline - EPOCH, period));
  }

  /** Stops the record's deadline from sliding (a later write set a fixed one or none). */
  static stop(record: object): void {
    if (!(#period in record)) return;
    record.#period = 0;
    RenewMark.set(record, NEVER);
  }

  /** Carries a sliding deadline over to the record that replaces `from` (an update keeping it). */
  static carry(from: object, to: object): void {
    if (!(#period in from) || from.#period === 0 || !(#period in to)) return;
    to.#period = from.#period;
    to.#deadline = from.#deadline;
    to.#logged = from.#logged;
    RenewMark.set(to, renewAfter(to.#deadline, to.#period));
  }

  /** The record's sliding period in ms, if its deadline slides. */
  static periodOf(record: object | undefined): number | undefined {
    if (record === undefined || !(#period in record) || record.#period === 0) return undefined;
    return record.#period;
  }

  /** The record's renewed deadline, if its deadline slides. */
  static of(record: object | undefined): number | undefined {
    if (record === undefined || !(#period in record) || record.#period === 0) return undefined;
    return record.#deadline + EPOCH;
  }

  /**
   * Moves a sliding deadline to `period` ms past `now` (nothing for other records), unless
   * that would move it by less than `period / RENEW_STEPS`. Returns the new deadline when it
   * has moved more than half a period past the one last reported (the caller persists it
   * then), else undefined.
   */
  static renew(record: object, now: number): number | undefined {
    const time = now - EPOCH;
    return RenewMark.due(record, time) ? SlidingDeadline.#renewed(record, time) : undefined;
  }

  static #renewed(record: object, time: number): number | undefined {
    if (!(#period in record) || record.#period === 0) return undefined;
    const period = record.#period;
    const deadline = time + period;
    record.#deadline = deadline;
    RenewMark.set(record, renewAfter(deadline, period));
    if (deadline - record.#logged <= period / 2) return undefined;
    record.#logged = deadline;
    return deadline + EPOCH;
  }
}

/** When (ms past `EPOCH`) a read renews a deadline: once it would move it by a step. */
function renewAfter(deadline: number, period: number): number {
  return deadline - period + Math.ceil(period / RENEW_STEPS);
}

/**
 * What a slotted record's constructor calls: `first` before it sets any field (the mark goes
 * next to the header), `last` after.
 */
export const SLIDING_SLOT = {
  first: (record: object): void => RenewMark.give(record),
  last: (record: object): void => void new SlidingDeadline(record),
} as const;
