import { randomBytes } from 'node:crypto';
import { TimeSlicer } from '../engine/time-slicer.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { encodeValue } from '../persistence/value-codec.js';
import type { RedisLike } from './redis-connection.js';
import { sealChunk } from './snapshot-chunk.js';

/**
 * Text per chunk of a compacted snapshot, about: one GET each for a loading instance, a
 * memory copy for Redis (well under a millisecond).
 */
const CHUNK_BYTES = 512 * 1024;
/** How long written chunks live until published: a writer that dies midway leaves nothing for long. */
const UNPUBLISHED_MS = 10 * 60_000;
/** How long one instance holds the right to write a table's snapshot at most. */
const LOCK_MS = 60_000;
/** Tables smaller than this load fast enough by parts: no snapshot is kept for them. */
export const SNAPSHOT_MIN_ROWS = 1_000;

/**
 * When this instance writes a table's compacted snapshot: once the changes applied since the
 * last one known reach half its size (so loading replays at most about half as many changes
 * from the log as the snapshot holds rows, and rewriting costs at most two rows per change),
 * or half the log (`logLength`) went by since it (the log must still hold what follows it),
 * or the log has gone quiet after changes (then a new instance replays nothing).
 */
export class SnapshotSchedule {
  /** Changes applied since the snapshot at `seq`. */
  changes = 0;
  /** The log position of the last snapshot known (written or loaded here). */
  seq = 0;
  /** How many rows that snapshot holds. */
  rows = 0;
  writing = false;

  /** `idle`: the log has been quiet for a while; any change since the last one makes it due. */
  due(size: number, applied: number, logLength: number, idle = false): boolean {
    if (this.writing || this.changes === 0 || size < SNAPSHOT_MIN_ROWS) return false;
    return (
      idle ||
      this.changes >= Math.max(SNAPSHOT_MIN_ROWS, this.rows / 2) ||
      applied - this.seq >= logLength / 2
    );
  }

  /** A snapshot of `rows` rows at `seq` is known, with `changes` applied after it. */
  since(seq: number, rows: number, changes: number): void {
    this.seq = seq;
    this.rows = rows;
    this.changes = changes;
  }
}

/** A table as this instance holds it at log position `seq`: key, record, local deadline, version. */
export interface SnapshotCapture {
  readonly table: string;
  readonly rows: readonly (readonly [RecordKey, object, number | undefined, number])[];
  readonly seq: number;
  /** The commit id of log entry `seq`, as applied here. */
  readonly commit: string;
  readonly epoch: string;
}

/** Where a table's snapshot keys are: `{P}:t:<table>:snap` (+ `:<id>:<i>` per chunk, `:lock`). */
export function snapshotKey(base: string, table: string): string {
  return `${base}:t:${table}:snap`;
}

/**
 * Takes the right to write `table`'s snapshot for a while; false when another instance holds
 * it (that one writes it). The token is handed to `writeSnapshot`, which gives the right back.
 */
export async function lockSnapshot(
  client: RedisLike,
  base: string,
  table: string,
  token: string,
): Promise<boolean> {
  const taken = await client.set(`${snapshotKey(base, table)}:lock`, token, 'PX', LOCK_MS, 'NX');
  return taken !== null;
}

/** Gives back the right to write `table`'s snapshot, if `token` still holds it. */
export async function unlockSnapshot(
  client: RedisLike,
  base: string,
  table: string,
  token: string,
): Promise<void> {
  const lock = `${snapshotKey(base, table)}:lock`;
  if ((await client.get(lock)) === token) await client.del(lock);
}

/**
 * Writes a compacted snapshot of a captured table to Redis and publishes it (`SNAPSHOT_SCRIPT`):
 * the rows are encoded a slice at a time (the event loop runs between slices), in chunks of
 * about CHUNK_BYTES of the text the part reads make (`SCAN_SCRIPT`: flat key, encoded record,
 * version, deadline by Redis's clock), each a string of its own, sealed with its digest
 * (`sealChunk`). Resolves to true when
 * published; false when Redis refused it (another data set, another history, a newer one).
 */
export async function writeSnapshot(
  client: RedisLike,
  base: string,
  capture: SnapshotCapture,
  token: string,
  redisDeadline: (local: number) => number,
): Promise<boolean> {
  const meta = snapshotKey(base, capture.table);
  const id = randomBytes(6).toString('hex');
  const slicer = new TimeSlicer(`snapshot of table '${capture.table}'`, undefined);
  let parts: string[] = [];
  let bytes = 0;
  let chunks = 0;
  const flush = async (): Promise<void> => {
    chunks++;
    const text = `[${parts.join(',')}]`;
    parts = [];
    bytes = 0;
    await client.set(`${meta}:${id}:${chunks}`, sealChunk(text), 'PX', UNPUBLISHED_MS);
  };
  for (const [key, record, deadline, version] of capture.rows) {
    const at = deadline === undefined ? 'null' : String(redisDeadline(deadline));
    const text = `${JSON.stringify(key)},${JSON.stringify(encodeValue(record))},${version},${at}`;
    parts.push(text);
    bytes += text.length;
    if (bytes >= CHUNK_BYTES) await flush();
    else {
      const pause = slicer.tick();
      if (pause) await pause;
    }
  }
  if (parts.length > 0 || chunks === 0) await flush();
  const published = await client.msSnapshot(
    base,
    capture.table,
    capture.epoch,
    String(capture.seq),
    capture.commit,
    id,
    chunks,
    token,
  );
  return Number(published) === 1;
}
