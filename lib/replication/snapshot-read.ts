import { TimeSlicer } from '../engine/time-slicer.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { RedisLike } from './redis-connection.js';
import { fieldOf, seqOf } from './commit-outcome.js';
import { readCounters, type Revive, SnapshotRows, type TableSnapshot } from './table-snapshot.js';

/**
 * Records per part a new instance reads (one script call) at most: about 2 ms of Redis's
 * time for small records. Parts are also kept near PART_BYTES of text (large records come
 * fewer per part), from the size of the part before; the first one asks for FIRST_PART.
 */
const PART = 500;
const PART_BYTES = 64 * 1024;
const FIRST_PART = 100;
/** Log entries per read of the changes made while the parts were read. */
const LOG_PAGE = 1_000;

/** Tables as Redis holds them at log position `seq`, with the data set they belong to. */
export interface Snapshot {
  seq: number;
  tables: Map<string, TableSnapshot>;
  epoch: string;
  /** The commit id of log entry `seq`, when the log still holds it. */
  lastCommit: string | undefined;
  /** The id of the last entry of `{P}:epochs` ('0-0': none). */
  mark: string;
}

/** Where the group's keys are: `key('seq')`, `table('people', 'rows')`; `base` is `{P}`. */
export interface SnapshotKeys {
  base: string;
  key(name: string): string;
  table(table: string, name: string): string;
}

interface Head {
  seq: number;
  epoch: string | null;
  lastCommit: string | undefined;
  mark: string;
  counters: string[][];
  tableVersions: (string | null)[];
  /** How many rows each table holds (for progress). */
  sizes: number[];
}

type LoggedChange =
  | ['p', string, RecordKey, unknown, number | null]
  | ['d' | 'e', string, RecordKey]
  | ['n', string, string, number];

/**
 * Reads the named tables without holding Redis more than a part at a time: the log
 * position, then each table's rows in parts of PART records (a script each, the next one
 * asked for before the last one is parsed), then the log position again with the counters
 * and table versions, and the log's changes in between, replayed onto the rows read (see
 * `SnapshotRows`). Undefined when that cannot make a consistent snapshot: the data set
 * changed meanwhile (another epoch, or none) or the log no longer holds every change in
 * between (trimmed); the caller reads again.
 */
export async function readSnapshot(
  client: RedisLike,
  keys: SnapshotKeys,
  tables: ReadonlyMap<string, Revive>,
  localDeadline: (deadline: number) => number,
  /** Where progress lines go when a table takes longer than a second to load. */
  report?: (line: string) => void,
): Promise<Snapshot | undefined> {
  const names = [...tables.keys()];
  const start = await readHead(client, keys, names);
  if (start?.epoch == null) return undefined;
  const read = new Map<string, SnapshotRows>();
  for (const [i, [name, revive]] of [...tables].entries()) {
    const progress = new TimeSlicer(`loading table '${name}' from Redis`, report, start.sizes[i]);
    const rows = new SnapshotRows(revive, localDeadline);
    read.set(name, await readRows(client, keys, name, rows, progress));
    progress.finish();
  }
  const end = await readHead(client, keys, names);
  if (end?.epoch !== start.epoch) return undefined;
  if (end.seq > start.seq && !(await replayLog(client, keys, read, start.seq, end.seq)))
    return undefined;
  const snapshots = new Map<string, TableSnapshot>();
  names.forEach((name, i) =>
    snapshots.set(name, {
      rows: read.get(name)!.rows(),
      counters: readCounters(end.counters[i]),
      tableVersion: Number(end.tableVersions[i] ?? 0),
    }),
  );
  return {
    seq: end.seq,
    tables: snapshots,
    epoch: start.epoch,
    lastCommit: end.lastCommit,
    mark: end.mark,
  };
}

/** The log position, epoch, counters and table versions, in one transaction (undefined: aborted). */
async function readHead(
  client: RedisLike,
  keys: SnapshotKeys,
  names: readonly string[],
): Promise<Head | undefined> {
  const multi = client.multi();
  multi.xrevrange(keys.key('epochs'), '+', '-', 'COUNT', 1);
  multi.get(keys.key('epoch'));
  multi.xrevrange(keys.key('log'), '+', '-', 'COUNT', 1);
  multi.get(keys.key('seq'));
  for (const name of names) {
    multi.call('HGETALL', keys.table(name, 'counters'));
    multi.hget(keys.table(name, 'meta'), 'v');
    multi.call('HLEN', keys.table(name, 'rows'));
  }
  const results = await multi.exec();
  if (!results) return undefined;
  const values = results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const [mark] = values[0] as [string, string[]][];
  const [last] = values[2] as [string, string[]][];
  const seq = Number(values[3] ?? 0);
  return {
    seq,
    epoch: values[1] as string | null,
    lastCommit: last && seqOf(last[0]) === seq ? fieldOf(last[1], 'c') : undefined,
    mark: mark?.[0] ?? '0-0',
    counters: names.map((_, i) => values[4 + 3 * i] as string[]),
    tableVersions: names.map((_, i) => values[5 + 3 * i] as string | null),
    sizes: names.map((_, i) => Number(values[6 + 3 * i] ?? 0)),
  };
}

async function readRows(
  client: RedisLike,
  keys: SnapshotKeys,
  name: string,
  rows: SnapshotRows,
  progress: TimeSlicer,
): Promise<SnapshotRows> {
  let pending = client.msScan(keys.base, name, '0', FIRST_PART);
  for (;;) {
    const [next, count, text] = await pending;
    if (next !== '0') {
      const size = Math.floor((PART_BYTES * Number(count)) / Math.max(1, text.length));
      pending = client.msScan(keys.base, name, next, Math.max(1, Math.min(PART, size)));
      pending.catch(() => undefined); // awaited next turn, unless this part cannot be parsed
    }
    rows.addPart(text);
    progress.done += Number(count);
    if (progress.due) await progress.pause();
    if (next === '0') return rows;
  }
}

/** Replays log entries `from + 1` … `to` onto the rows read; false if the log lacks one. */
async function replayLog(
  client: RedisLike,
  keys: SnapshotKeys,
  read: Map<string, SnapshotRows>,
  from: number,
  to: number,
): Promise<boolean> {
  let expected = from + 1;
  while (expected <= to) {
    const entries = await client.xrange(
      keys.key('log'),
      `0-${expected}`,
      `0-${to}`,
      'COUNT',
      LOG_PAGE,
    );
    if (entries.length === 0) return false;
    for (const [id, fields] of entries) {
      const seq = seqOf(id);
      if (seq !== expected) return false; // trimmed
      for (const change of JSON.parse(fieldOf(fields, 'd') ?? '[]') as LoggedChange[]) {
        const rows = read.get(change[1]);
        if (!rows || change[0] === 'n') continue; // counters: read at the end
        if (change[0] === 'p') rows.replayPut(change[2], change[3], change[4], seq);
        else rows.replayDelete(change[2], seq);
      }
      expected++;
    }
  }
  return true;
}
