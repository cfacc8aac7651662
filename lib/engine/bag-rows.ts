import type { RecordKey } from '../interfaces/table-options.interface.js';

/**
 * The field that holds a bag record's row identity. A bag (`@Table({ type: 'bag' })`) keeps
 * many records per key, so the engine keys its rows by an identity of their own, a number
 * the table hands out; the table's key field is then an ordinary (non-unique) index, and
 * indexes, queries, deadlines, events, transactions and the log work on rows unchanged.
 *
 * The identity is a non-enumerable property of the frozen record: `Object.keys`, JSON,
 * exports, equality and class-validator do not see it, and a copy of a record (`{ ...r }`)
 * does not carry it, so writing one makes a new row.
 */
export const BAG_ROW = '__row';

/** The row identity of a bag record the table built, else undefined. */
export function rowOf(record: object): RecordKey | undefined {
  return Object.prototype.hasOwnProperty.call(record, BAG_ROW)
    ? ((record as Record<string, RecordKey>)[BAG_ROW] ?? undefined)
    : undefined;
}

/** Gives a record being built (not yet frozen) its row identity. */
export function placeRow(record: object, row: RecordKey): void {
  Object.defineProperty(record, BAG_ROW, { value: row, enumerable: false });
}
