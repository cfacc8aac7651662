import { TimeSlicer } from '../engine/time-slicer.js';
import type { RedisLike } from './redis-connection.js';
import { fieldOf, seqOf } from './commit-outcome.js';
import type { LogChange } from './log-entry.js';
import { openChunk } from './snapshot-chunk.js';
import { readCounters, type Revive, SnapshotRows, type TableSnapshot } from './table-snapshot.js';

/**
 * Records per part a new instance reads (one script call) at most: about 2 ms of Redis's
 * time for small records. Parts are also kept near PART_BYTES of text (large records come
 * fewer per part), from the size of the part before; the first one asks for FIRST_PART.
 */
const PART = 500;
const PART_BYTES = 64 * 1024;
const FIRST_PART = 100;
/**
 * Log entries per read of the changes to replay, at most; fewer when entries are large (a
 * read asks for about LOG_PAGE_BYTES, from the size of the entries before; the first asks
 * for FIRST_LOG_PAGE), so that no reply grows past what Redis lets a client's buffer hold.
 */
const LOG_PAGE = 1_000;
const LOG_PAGE_BYTES = 256 * 1024;
const FIRST_LOG_PAGE = 1;
/** Chunks of a compacted snapshot asked for ahead of the one being parsed. */
const CHUNKS_AHEAD = 2;

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
  /** Each table's compacted snapshot, as published (`SNAPSHOT_SCRIPT`). */
  compacted: (Compacted | undefined)[];
  /** The log number of the log's oldest entry (Infinity: the log is empty). */
  firstLogged: number;
}

/** A published compacted snapshot of a table. */
interface Compacted {
  id: string;
  epoch: string;
  seq: number;
  chunks: number;
}

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
  /** Where each table's rows stand: the log changes after it are replayed onto them. */
  const from = new Map<string, number>();
  const compactedAt = new Map<string, number>();
  for (const [i, [name, revive]] of [...tables].entries()) {
    const progress = new TimeSlicer(`loading table '${name}' from Redis`, report, start.sizes[i]);
    const compacted = usable(start, i);
    let rows = new SnapshotRows(revive, localDeadline);
    if (compacted && (await readChunks(client, keys, name, compacted, rows, progress))) {
      from.set(name, compacted.seq);
      compactedAt.set(name, compacted.seq);
    } else {
      // no snapshot kept, or its chunks are gone (replaced a while ago): read by parts
      rows = new SnapshotRows(revive, localDeadline);
      progress.done = 0;
      await readRows(client, keys, name, rows, progress);
      from.set(name, start.seq);
    }
    read.set(name, rows);
    progress.finish();
  }
  const end = await readHead(client, keys, names);
  if (end?.epoch !== start.epoch) return undefined;
  const replayed = await replayLog(client, keys, read, from, end.seq);
  if (!replayed) return undefined;
  const snapshots = new Map<string, TableSnapshot>();
  names.forEach((name, i) =>
    snapshots.set(name, {
      rows: read.get(name)!.rows(),
      counters: readCounters(end.counters[i]),
      tableVersion: Number(end.tableVersions[i] ?? 0),
      compactedAt: compactedAt.get(name),
      replayed: replayed.get(name) ?? 0,
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
  multi.xrange(keys.key('log'), '-', '+', 'COUNT', 1);
  for (const name of names) {
    multi.call('HGETALL', keys.table(name, 'counters'));
    multi.hget(keys.table(name, 'meta'), 'v');
    multi.call('HLEN', keys.table(name, 'rows'));
    multi.hmget(keys.table(name, 'snap'), 'id', 'epoch', 'seq', 'n');
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
  const [first] = values[4] as [string, string[]][];
  const at = (i: number, field: number) => values[5 + 4 * i + field];
  return {
    seq,
    epoch: values[1] as string | null,
    lastCommit: last && seqOf(last[0]) === seq ? fieldOf(last[1], 'c') : undefined,
    mark: mark?.[0] ?? '0-0',
    counters: names.map((_, i) => at(i, 0) as string[]),
    tableVersions: names.map((_, i) => at(i, 1) as string | null),
    sizes: names.map((_, i) => Number(at(i, 2) ?? 0)),
    compacted: names.map((_, i) => {
      const [id, epoch, seq, chunks] = at(i, 3) as (string | null)[];
      return id === null || epoch === null
        ? undefined
        : { id, epoch, seq: Number(seq), chunks: Number(chunks) };
    }),
    firstLogged: first ? seqOf(first[0]) : Infinity,
  };
}

/**
 * Table `i`'s compacted snapshot if a load can start from it: of the data set read (a
 * snapshot of another epoch is never used), at or before the log position read, and the log
 * still holds every change after it.
 */
function usable(head: Head, i: number): Compacted | undefined {
  const compacted = head.compacted[i];
  if (!compacted || compacted.epoch !== head.epoch || compacted.seq > head.seq) return undefined;
  if (compacted.seq < head.seq && head.firstLogged > compacted.seq + 1) return undefined;
  return compacted;
}

/**
 * Reads a compacted snapshot's chunks (CHUNKS_AHEAD asked for ahead of the one parsed) into
 * `rows`; false when one is gone (the snapshot was replaced a while ago, or lost a chunk) or
 * does not match its digest (its bytes changed in Redis): the caller reads the table by parts
 * instead, and a snapshot still published that way is unpublished (`unpublish`).
 */
async function readChunks(
  client: RedisLike,
  keys: SnapshotKeys,
  name: string,
  compacted: Compacted,
  rows: SnapshotRows,
  progress: TimeSlicer,
): Promise<boolean> {
  const key = `${keys.table(name, 'snap')}:${compacted.id}`;
  const asked: Promise<string | null>[] = [];
  const ask = (i: number) => {
    if (i > compacted.chunks) return;
    const pending = client.get(`${key}:${i}`);
    pending.catch(() => undefined); // awaited in its turn
    asked.push(pending);
  };
  for (let i = 1; i <= CHUNKS_AHEAD; i++) ask(i);
  for (let i = 1; i <= compacted.chunks; i++) {
    const stored = await asked[i - 1];
    ask(i + CHUNKS_AHEAD);
    // gone, or not the bytes its writer stored: never loaded
    const text = stored === null ? undefined : openChunk(stored);
    if (text === undefined) {
      await unpublish(client, keys.table(name, 'snap'), compacted);
      return false;
    }
    progress.done += rows.addPart(text);
    if (progress.due) await progress.pause();
  }
  return true;
}

/**
 * Unpublishes a compacted snapshot found corrupt or missing a chunk (evicted, deleted), if it
 * is still the one published (one replaced a while ago has lost its chunks as expected; the
 * chunks left are given a minute for loads reading them), so that an instance writes a sound one: the
 * writers skip a table whose published snapshot is at their position. Should another be
 * published between the check and the removal, it is dropped too: loads read by parts until
 * the next one, never wrong data.
 */
async function unpublish(client: RedisLike, meta: string, compacted: Compacted): Promise<void> {
  if ((await client.hget(meta, 'id')) !== compacted.id) return;
  await client.del(meta);
  const multi = client.multi();
  for (let i = 1; i <= compacted.chunks; i++)
    multi.call('PEXPIRE', `${meta}:${compacted.id}:${i}`, '60000');
  await multi.exec();
}

async function readRows(
  client: RedisLike,
  keys: SnapshotKeys,
  name: string,
  rows: SnapshotRows,
  progress: TimeSlicer,
): Promise<void> {
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
    if (next === '0') return;
  }
}

/**
 * Replays the log's entries after each table's position (`from`) up to `to` onto the rows
 * read. Resolves to how many changes were replayed per table; undefined if the log lacks one.
 */
async function replayLog(
  client: RedisLike,
  keys: SnapshotKeys,
  read: Map<string, SnapshotRows>,
  from: ReadonlyMap<string, number>,
  to: number,
): Promise<Map<string, number> | undefined> {
  const counts = new Map<string, number>();
  let expected = Math.min(to, ...from.values()) + 1;
  let page = FIRST_LOG_PAGE;
  while (expected <= to) {
    const entries = await client.xrange(keys.key('log'), `0-${expected}`, `0-${to}`, 'COUNT', page);
    if (entries.length === 0) return undefined;
    const texts = entries.map(([, fields]) => fieldOf(fields, 'd') ?? '[]');
    const bytes = texts.reduce((sum, text) => sum + text.length, 0);
    page = Math.max(1, Math.min(LOG_PAGE, Math.floor((LOG_PAGE_BYTES * texts.length) / bytes)));
    for (const [i, [id]] of entries.entries()) {
      const seq = seqOf(id);
      if (seq !== expected) return undefined; // trimmed
      for (const change of JSON.parse(texts[i]) as LogChange[]) {
        const rows = read.get(change[1]);
        if (!rows || change[0] === 'n') continue; // counters: read at the end
        if (seq <= from.get(change[1])!) continue; // the rows read hold it
        if (change[0] === 'p') rows.replayPut(change[2], change[3], change[4], seq);
        else rows.replayDelete(change[2], seq);
        counts.set(change[1], (counts.get(change[1]) ?? 0) + 1);
      }
      expected++;
    }
  }
  return counts;
}
