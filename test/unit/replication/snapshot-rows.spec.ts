import { describe, expect, it } from '@jest/globals';
import { SnapshotRows } from '../../../lib/replication/table-snapshot.js';

/** A part as the scan script returns it: key, encoded record, version, deadline, …. */
function part(...rows: [string, number, number, number | null][]): string {
  return JSON.stringify(
    rows.flatMap(([id, balance, version, deadline]) => [
      id,
      ['O', { id, balance }],
      version,
      deadline,
    ]),
  );
}

function rowsOf(rows: SnapshotRows): [unknown, unknown, unknown, unknown][] {
  return rows
    .rows()
    .map(
      ([key, record, deadline, version]) =>
        [key, record, deadline, version] as [unknown, unknown, unknown, unknown],
    )
    .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
}

/** Records are built by the table in the real thing; here a frozen copy tells them apart. */
const revive = (_key: unknown, fields: Record<string, unknown>) => Object.freeze({ ...fields });
/** Redis's clock is 1,000 ms ahead of this machine's. */
const localDeadline = (deadline: number) => deadline - 1000;

/**
 * Parts read while others write hold each row as Redis held it when its part was read; the
 * log's changes from before the first part to after the last one are replayed, each skipped
 * when the row read already holds it.
 */
describe('SnapshotRows (a table read in parts, then the log replayed)', () => {
  it('keeps a row read after a change, and applies the changes made after it was read', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(part(['a', 1, 12, null], ['b', 2, 3, 5000]));
    rows.replayPut('a', ['O', { id: 'a', balance: 9 }], null, 11); // older than the row read
    rows.replayPut('a', ['O', { id: 'a', balance: 1 }], null, 12); // the row read itself
    rows.replayPut('b', ['O', { id: 'b', balance: 7 }], 8000, 13); // after the row was read
    expect(rowsOf(rows)).toEqual([
      ['a', { id: 'a', balance: 1 }, null, 12],
      ['b', { id: 'b', balance: 7 }, 7000, 13],
    ]);
  });

  it('removes a row deleted or expired after its part was read, not one written again before', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(part(['a', 1, 5, null], ['b', 2, 9, null]));
    rows.replayDelete('a', 7);
    rows.replayDelete('b', 8); // deleted, then written again at 9 before its part was read
    expect(rowsOf(rows)).toEqual([['b', { id: 'b', balance: 2 }, null, 9]]);
  });

  it('ends without a row written and deleted before its part was read, and with one written after', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(part(['a', 1, 2, null]));
    rows.replayPut('gone', ['O', { id: 'gone', balance: 1 }], null, 3);
    rows.replayDelete('gone', 4);
    rows.replayPut('new', ['O', { id: 'new', balance: 5 }], null, 5);
    expect(rowsOf(rows)).toEqual([
      ['a', { id: 'a', balance: 1 }, null, 2],
      ['new', { id: 'new', balance: 5 }, null, 5],
    ]);
  });

  it('applies every change of one log entry to a key, in order, when the row read is older', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(part(['a', 1, 2, null], ['b', 1, 7, null]));
    rows.replayPut('a', ['O', { id: 'a', balance: 3 }], null, 7);
    rows.replayPut('a', ['O', { id: 'a', balance: 4 }], null, 7);
    rows.replayPut('c', ['O', { id: 'c', balance: 5 }], null, 7);
    rows.replayDelete('c', 7);
    rows.replayDelete('b', 7); // read at 7: it already holds every change of entry 7
    expect(rowsOf(rows)).toEqual([
      ['a', { id: 'a', balance: 4 }, null, 7],
      ['b', { id: 'b', balance: 1 }, null, 7],
    ]);
  });

  it('keeps the newer read of a row that two parts returned (HSCAN may return a row twice)', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(part(['a', 1, 4, null]));
    rows.addPart(part(['a', 2, 6, 9000]));
    rows.addPart(part(['a', 1, 4, null]));
    expect(rowsOf(rows)).toEqual([['a', { id: 'a', balance: 2 }, 8000, 6]]);
  });

  it('tells number keys from string keys, as the stored JSON does', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(JSON.stringify([1, ['O', { id: 1 }], 1, null, '1', ['O', { id: '1' }], 2, null]));
    rows.replayDelete(1, 3);
    expect(rowsOf(rows)).toEqual([['1', { id: '1' }, null, 2]]);
  });

  it('decodes encoded values (a Date) and keeps plain fields as they are', () => {
    const rows = new SnapshotRows(revive, localDeadline);
    rows.addPart(
      JSON.stringify(['a', ['O', { id: 'a', at: ['D', Date.UTC(2026, 0, 2)] }], 1, null]),
    );
    const [[, record]] = rows.rows();
    expect((record as { at: unknown }).at).toEqual(new Date('2026-01-02T00:00:00.000Z'));
  });
});
