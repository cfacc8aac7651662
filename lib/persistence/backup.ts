import { CorruptStoreError } from '../errors/corrupt-store.error.js';
import { ImportError } from '../errors/import.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { MemoryTable } from '../engine/memory-table.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { writeFileAtomically, type PersistenceFileSystem } from './file-system.js';
import { encodeFrame, parseFrames } from './log-format.js';
import { decodeValue, encodeValue, type Encoded } from './value-codec.js';

export const BACKUP_MAGIC = Buffer.from('NMSBAK1\n');
const ROWS_PER_FRAME = 5000;
/** What a damaged backup means for `restore()`, which is not a start-up. */
const NOTHING_RESTORED = 'Nothing was restored';

type BackupFrame =
  | { t: 'meta'; at: string }
  | { t: 'table'; table: string; version: number }
  | { t: 'rows'; table: string; rows: [RecordKey, Encoded, number | null, number][] }
  | { t: 'counters'; table: string; counters: [string, number][] }
  | { t: 'end'; tables: number };

/** One table as a backup holds it. */
export interface BackedUpTable {
  readonly rows: [RecordKey, Record<string, unknown>, number | null, number][];
  readonly counters: [string, number][];
}

/**
 * Writes every table to one file atomically: a temporary file, synced, renamed over the
 * target, and the directory synced. The format is the snapshot's: checksummed frames.
 */
export async function writeBackup(
  fs: PersistenceFileSystem,
  path: string,
  tables: readonly MemoryTable<object>[],
): Promise<number> {
  const frames: Buffer[] = [BACKUP_MAGIC];
  let n = 0;
  const push = (frame: BackupFrame) => frames.push(encodeFrame(++n, JSON.stringify(frame)));
  push({ t: 'meta', at: new Date().toISOString() });
  let records = 0;
  for (const table of tables) {
    const { rows, counters, version } = table.capture();
    push({ t: 'table', table: table.name, version });
    for (let i = 0; i < rows.length; i += ROWS_PER_FRAME) {
      push({
        t: 'rows',
        table: table.name,
        rows: rows
          .slice(i, i + ROWS_PER_FRAME)
          .map(([key, record, deadline]) => [key, encodeValue(record), deadline ?? null, version]),
      });
    }
    push({ t: 'counters', table: table.name, counters });
    records += rows.length;
  }
  push({ t: 'end', tables: tables.length });
  try {
    await writeFileAtomically(fs, path, Buffer.concat(frames));
  } catch (error) {
    throw new MemoryStoreError(`Cannot write the backup ${path}: ${(error as Error).message}`, '', {
      cause: error,
    });
  }
  return records;
}

/**
 * Reads a backup whole, checking every frame; damage is a `CorruptStoreError`, a file that
 * cannot be read (missing, a directory) an `ImportError`.
 */
export async function readBackup(
  fs: PersistenceFileSystem,
  path: string,
): Promise<Map<string, BackedUpTable>> {
  let data: Buffer | undefined;
  try {
    data = await fs.readFile(path);
  } catch (error) {
    throw new ImportError(
      '',
      path,
      `cannot read it: ${(error as Error).message}`,
      undefined,
      undefined,
      error,
    );
  }
  if (!data) throw new ImportError('', path, 'the file does not exist');
  const damaged = (offset: number, reason: string) =>
    new CorruptStoreError('', path, offset, reason, NOTHING_RESTORED);
  const parsed = parseFrames(data, BACKUP_MAGIC, 1);
  if (parsed.problem) throw damaged(parsed.end, parsed.problem);
  const tables = new Map<string, BackedUpTable>();
  let ended = false;
  for (const [i, frame] of parsed.frames.entries()) {
    if (frame.seq !== i + 1) throw damaged(frame.offset, 'frames out of order');
    let content: BackupFrame;
    try {
      content = JSON.parse(frame.payload) as BackupFrame;
    } catch {
      throw damaged(frame.offset, 'a frame holds malformed JSON');
    }
    const table = (name: string) => {
      let entry = tables.get(name);
      if (!entry) tables.set(name, (entry = { rows: [], counters: [] }));
      return entry;
    };
    if (content.t === 'rows') {
      for (const [key, record, deadline, version] of content.rows) {
        table(content.table).rows.push([
          key,
          decodeValue(record) as Record<string, unknown>,
          deadline,
          version,
        ]);
      }
    } else if (content.t === 'counters') table(content.table).counters.push(...content.counters);
    else if (content.t === 'table') table(content.table);
    else if (content.t === 'end') ended = true;
  }
  if (!ended) throw damaged(parsed.end, 'the backup is incomplete');
  return tables;
}
