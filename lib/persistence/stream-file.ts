import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NODE_FILE_SYSTEM, type AppendFile, type PersistenceFileSystem } from './file-system.js';

/** How much of a file is read at a time. */
const READ_CHUNK = 1 << 20;
/** Written chunks are gathered up to this size before each write to the file. */
const WRITE_BATCH = 1 << 20;

/**
 * Writes a file from chunks, atomically: into a temporary file beside it (through the file
 * system's `openAppend`), synced, renamed over it, then the directory synced. Memory stays
 * bounded by a chunk and the write batch. On failure the temporary file is removed (as far
 * as it can be) and the error rethrown, for the caller to say what it was writing.
 */
export async function writeStreamAtomically(
  files: PersistenceFileSystem,
  path: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp`);
  let file: AppendFile | undefined;
  try {
    await files.unlink(temporary).catch(() => undefined); // a leftover would be appended to
    file = await files.openAppend(temporary);
    let batch: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      batch.push(chunk);
      size += chunk.length;
      if (size >= WRITE_BATCH) {
        await file.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
        batch = [];
        size = 0;
      }
    }
    if (size > 0) await file.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
    await file.sync();
    const closing = file;
    file = undefined;
    await closing.close();
    await files.rename(temporary, path);
    await files.syncDir(dirname(path));
  } catch (error) {
    await file?.close().catch(() => undefined);
    await files.unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * The bytes of a file, a chunk at a time: straight from the disk with the real file system,
 * else (a file system given to the module, as tests do) its `readFile` cut into chunks.
 * A missing file throws the system's ENOENT error (see `isMissingFile`).
 */
export async function* readChunks(
  files: PersistenceFileSystem,
  path: string,
): AsyncGenerator<Buffer> {
  if (files.readFile !== NODE_FILE_SYSTEM.readFile) {
    const data = await files.readFile(path);
    if (data === undefined) throw noSuchFile(path);
    for (let at = 0; at < data.length; at += READ_CHUNK)
      yield data.subarray(at, Math.min(at + READ_CHUNK, data.length));
    return;
  }
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** True for the error of a file that does not exist (ENOENT). */
export function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * The ENOENT error Node.js gives for a missing file, for a file system given to the module
 * whose `readFile` says "missing" with `undefined`.
 */
function noSuchFile(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
    code: 'ENOENT',
    errno: -2,
    syscall: 'open',
    path,
  });
}
