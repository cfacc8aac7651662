import type { MemoryTable } from '../engine/memory-table.js';
import { TimeSlicer } from '../engine/time-slicer.js';
import { CorruptStoreError } from '../errors/corrupt-store.error.js';
import { showValue } from '../errors/describe-value.js';
import { ImportError } from '../errors/import.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { PersistenceFileSystem } from './file-system.js';
import { ChunkStore } from './frame-packer.js';
import { RowFrames } from './row-frames.js';
import { encodeFrame, FRAME_HEADER, MAX_PAYLOAD, parseFrames } from './log-format.js';
import { isMissingFile, readChunks, writeStreamAtomically } from './stream-file.js';
import type { Encoded } from './value-codec.js';

export const BACKUP_MAGIC = Buffer.from('NMSBAK1\n');
/** What a damaged backup means for `restore()`, which is not a start-up. */
const NOTHING_RESTORED = 'Nothing was restored';

/**
 * The most payload bytes of a rows frame: `restore()` parses a frame in one step, and a
 * quarter megabyte parses in a few milliseconds.
 */
export const BACKUP_FRAME_BYTES = 256 * 1024;

/** One frame of a backup. */
export type BackupFrame =
  | { t: 'meta'; at: string }
  | { t: 'table'; table: string; version: number }
  | {
      t: 'rows';
      table: string;
      rows: [RecordKey, Encoded, number | null, number, number?][];
      /** Pieces of a record too large for a frame (see `FramePacker`), before the row. */
      c?: unknown[];
      /** Some row refers to pieces: it is whole once they are put back. */
      r?: 1;
    }
  | { t: 'counters'; table: string; counters: [string, number][] }
  | { t: 'end'; tables: number };

/**
 * Writes every table to one file atomically (a temporary file, synced, renamed over the
 * target, the directory synced), streamed: frames of at most `BACKUP_FRAME_BYTES` (or
 * `frameBytes`, if lower), made while the file is written, the work pausing for the event
 * loop every few milliseconds. The format is the snapshot's: checksummed frames, rows made
 * by `RowFrames` (a record too large for a frame, up to any size the process holds, is cut
 * into pieces carried by the frames before its row, as the log does). Each table's
 * records are those it held when its turn came; a record changed while the backup runs is
 * saved as it is when its frame is made, one deleted meanwhile is left out.
 */
export async function writeBackup(
  fs: PersistenceFileSystem,
  path: string,
  tables: readonly MemoryTable<object>[],
  report?: (line: string) => void,
  frameBytes = BACKUP_FRAME_BYTES,
): Promise<number> {
  const limit = Math.min(frameBytes, BACKUP_FRAME_BYTES);
  let records = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    let n = 0;
    const frame = (payload: string) => encodeFrame(++n, payload);
    yield BACKUP_MAGIC;
    yield frame(JSON.stringify({ t: 'meta', at: new Date().toISOString() }));
    for (const table of tables) {
      const { version } = table.schema;
      yield frame(JSON.stringify({ t: 'table', table: table.name, version }));
      const list = table.all();
      const slicer = new TimeSlicer(`backup of table '${table.name}'`, report, list.length);
      const framer = new RowFrames(table.name, limit);
      for (const record of list) {
        const key = table.keyOf(record);
        const current = table.rows.get(key);
        if (current !== undefined) {
          try {
            const deadline = table.deadlineOf(key) ?? null;
            const period = table.periodOf(key);
            for (const payload of framer.add(key, current, deadline, version, period))
              yield frame(payload);
          } catch (error) {
            throw new MemoryStoreError(
              `Cannot back up record ${showValue(key)} of table '${table.name}': ${(error as Error).message}`,
              table.name,
              { cause: error },
            );
          }
          records++;
        }
        await slicer.tick();
      }
      for (const payload of framer.finish()) yield frame(payload);
      const counters = [...table.counters.entries()];
      yield frame(JSON.stringify({ t: 'counters', table: table.name, counters }));
      slicer.finish();
    }
    yield frame(JSON.stringify({ t: 'end', tables: tables.length }));
  }
  try {
    await writeStreamAtomically(fs, path, chunks());
  } catch (error) {
    if (error instanceof MemoryStoreError) throw error;
    throw new MemoryStoreError(`Cannot write the backup ${path}: ${(error as Error).message}`, '', {
      cause: error,
    });
  }
  return records;
}

/**
 * Reads a backup a chunk at a time, checking every frame, and hands each frame's content to
 * `onFrame` in order (awaited). Damage, wherever it is, is a `CorruptStoreError` (thrown once
 * found: `onFrame` must only stage what it is given); a file that cannot be read (missing, a
 * directory) is an `ImportError`.
 */
export async function readBackup(
  fs: PersistenceFileSystem,
  path: string,
  onFrame: (frame: BackupFrame) => Promise<void> | void,
): Promise<void> {
  const damaged = (offset: number, reason: string) =>
    new CorruptStoreError('', path, offset, reason, NOTHING_RESTORED);
  const unreadable = (reason: string, error?: unknown) =>
    new ImportError('', path, reason, undefined, undefined, error, 'restore');
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0; // of `pending` in the file
  // Chunks read after `pending`, joined to it only once they hold the bytes the next step
  // needs (`need`): a frame of many chunks (an earlier version's large record, a damaged
  // length field) is joined once, not copied again with every chunk.
  let waiting: Buffer[] = [];
  let waitingBytes = 0;
  let need = BACKUP_MAGIC.length;
  let seq = 0;
  let magic = false;
  let ended = false;
  const chunkStore = new ChunkStore();
  const chunks = readChunks(fs, path);
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        if (isMissingFile(error)) throw unreadable('the file does not exist', error);
        throw unreadable(`cannot read it: ${(error as Error).message}`, error);
      }
      if (next.done) break;
      if (pending.length + waitingBytes + next.value.length < need) {
        waiting.push(next.value);
        waitingBytes += next.value.length;
        continue;
      }
      pending =
        pending.length === 0 && waiting.length === 0
          ? next.value
          : Buffer.concat([pending, ...waiting, next.value]);
      waiting = [];
      waitingBytes = 0;
      if (!magic) {
        if (pending.length < BACKUP_MAGIC.length) continue;
        if (!pending.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC))
          throw damaged(0, 'not a file of this kind (bad header)');
        magic = true;
        pending = pending.subarray(BACKUP_MAGIC.length);
        offset = BACKUP_MAGIC.length;
      }
      let at = 0;
      need = FRAME_HEADER;
      while (pending.length - at >= FRAME_HEADER) {
        const length = pending.readUInt32LE(at);
        if (length > MAX_PAYLOAD) throw damaged(offset + at, `a frame declares ${length} bytes`);
        const size = FRAME_HEADER + length;
        if (pending.length - at < size) {
          need = size;
          break;
        }
        if (ended) throw damaged(offset + at, 'frames follow the end of the backup');
        const parsed = parseFrames(
          Buffer.concat([BACKUP_MAGIC, pending.subarray(at, at + size)]),
          BACKUP_MAGIC,
          seq + 1,
        );
        if (parsed.problem) throw damaged(offset + at, parsed.problem);
        const frame = parsed.frames[0];
        if (frame.seq !== ++seq) throw damaged(offset + at, 'frames out of order');
        let content: BackupFrame;
        try {
          content = JSON.parse(frame.payload) as BackupFrame;
        } catch {
          throw damaged(offset + at, 'a frame holds malformed JSON');
        }
        if (content.t === 'rows' && (content.c !== undefined || content.r !== undefined)) {
          const problem = wholeRows(content, chunkStore);
          if (problem) throw damaged(offset + at, problem);
        }
        if (content.t === 'end') ended = true;
        else await onFrame(content);
        at += size;
      }
      pending = pending.subarray(at);
      offset += at;
    }
  } finally {
    await chunks.return(undefined); // closes the file when reading stops early
  }
  if (!magic) throw damaged(0, 'the file header is cut short');
  if (pending.length + waitingBytes > 0) throw damaged(offset, 'a frame is cut short');
  if (!ended) throw damaged(offset, 'the backup is incomplete');
  // pieces are written just before their row: pieces left over belong to a row not there
  if (chunkStore.size > 0)
    throw damaged(offset, 'it holds pieces of a record whose row never comes');
}

/**
 * Puts the pieces of records too large for a frame back into the rows that refer to them
 * (in place); the problem if the frame's pieces or references are malformed.
 */
function wholeRows(
  frame: Extract<BackupFrame, { t: 'rows' }>,
  chunks: ChunkStore,
): string | undefined {
  if (frame.c !== undefined && !chunks.add(frame.c)) return 'a frame holds malformed pieces';
  delete frame.c;
  if (frame.r === undefined) return undefined;
  delete frame.r;
  if (!Array.isArray(frame.rows)) return undefined; // the restore says what is wrong with it
  try {
    for (const row of frame.rows)
      if (Array.isArray(row)) row[1] = chunks.resolve(row[1]) as Encoded;
  } catch (error) {
    return `a record's pieces are missing or malformed (${(error as Error).message})`;
  }
  return undefined;
}
