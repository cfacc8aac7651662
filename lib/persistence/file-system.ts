import { constants, fstatSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** An open file the journal appends to. */
export interface AppendFile {
  write(data: Uint8Array): Promise<void>;
  /**
   * Makes what was written durable (fdatasync); fails if it cannot be (the file was
   * deleted while open).
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** A file opened for reading at any position (files larger than one buffer can be read). */
export interface ReadFile {
  /** The file's size in bytes when it was opened. */
  readonly size: number;
  /** Reads into `target` from `position`, up to `length` bytes; resolves to the bytes read. */
  read(target: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * The file operations persistence uses, injectable so that tests can make any step fail
 * (an I/O error, a short write) and check that the store completes or recovers.
 */
export interface PersistenceFileSystem {
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** The whole file, or undefined if it does not exist. */
  readFile(file: string): Promise<Buffer | undefined>;
  /**
   * Opens a file for reading in parts, or undefined if it does not exist. Recovery reads
   * snapshots and log segments through it, so that no file needs to fit in one buffer; a
   * file system without it has its files read whole with `readFile`.
   */
  openRead?(file: string): Promise<ReadFile | undefined>;
  /** Opens a file for appending, creating it if needed. */
  openAppend(file: string): Promise<AppendFile>;
  /** Writes a whole file and syncs it. */
  writeFile(file: string, data: Uint8Array): Promise<void>;
  truncate(file: string, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  /** Makes a directory's entries (creations, renames, deletions) durable. */
  syncDir(dir: string): Promise<void>;
}

/**
 * Writes a whole file atomically: a temporary file beside it, synced, renamed over it, then
 * the directory synced. On failure the temporary file is removed (as far as it can be) and
 * the error rethrown, for the caller to say what it was writing.
 */
export async function writeFileAtomically(
  files: PersistenceFileSystem,
  path: string,
  data: Uint8Array,
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp`);
  try {
    await files.writeFile(temporary, data);
    await files.rename(temporary, path);
    await files.syncDir(dirname(path));
  } catch (error) {
    await files.unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** The real file system, through `node:fs/promises`. */
export const NODE_FILE_SYSTEM: PersistenceFileSystem = {
  async mkdir(dir) {
    await fs.mkdir(dir, { recursive: true });
  },
  readdir: (dir) => fs.readdir(dir),
  async readFile(file) {
    try {
      return await fs.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  async openRead(file) {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      return {
        size,
        read: async (target, offset, length, position) =>
          (await handle.read(target, offset, length, position)).bytesRead,
        close: () => handle.close(),
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  },
  async openAppend(file) {
    const handle = await fs.open(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
      0o644,
    );
    // a file system that reports no link counts (0 for a file just opened) is not checked
    const counted = fstatSync(handle.fd).nlink > 0;
    return {
      async write(data) {
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset, data.length - offset);
          if (bytesWritten <= 0) throw new Error(`short write to ${file}`);
          offset += bytesWritten;
        }
      },
      async sync() {
        await handle.datasync();
        // a file deleted while open (its directory removed under a running application)
        // still takes writes and syncs, but nothing can read them once it is closed: what
        // was written is not durable, and must not be acknowledged as if it were
        // (fstat in this thread: a microsecond, where a trip to the thread pool would add
        // its latency to every acknowledgement under fsync 'always')
        if (counted && fstatSync(handle.fd).nlink === 0) {
          const error: NodeJS.ErrnoException = new Error(
            `ENOENT: ${file} was deleted while open: what was written to it is lost`,
          );
          error.code = 'ENOENT';
          throw error;
        }
      },
      close: () => handle.close(),
    };
  },
  async writeFile(file, data) {
    const handle = await fs.open(file, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  truncate: (file, length) => fs.truncate(file, length),
  rename: (from, to) => fs.rename(from, to),
  unlink: (file) => fs.unlink(file),
  async syncDir(dir) {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Opens a file for reading in parts, through `readFile` where `openRead` is missing. */
export async function openForReading(
  files: PersistenceFileSystem,
  file: string,
): Promise<ReadFile | undefined> {
  if (files.openRead) return files.openRead(file);
  const data = await files.readFile(file);
  if (!data) return undefined;
  return {
    size: data.length,
    read: (target, offset, length, position) =>
      Promise.resolve(data.copy(target, offset, position, position + length)),
    close: () => Promise.resolve(),
  };
}

/** Bytes copied at a time by `copyInParts`. */
const COPY_BYTES = 4 * 1024 * 1024;

/**
 * Copies a file from byte `start` on, a part at a time (never whole in memory), to `to`,
 * replacing what was there, and syncs the copy and its directory: the copy keeps bytes aside
 * before the original is cut, so it must outlive a crash that follows.
 */
export async function copyInParts(
  files: PersistenceFileSystem,
  from: string,
  to: string,
  start = 0,
): Promise<void> {
  const source = await openForReading(files, from);
  if (!source) return;
  try {
    await files.unlink(to).catch(() => undefined); // appending would extend an older copy
    const target = await files.openAppend(to);
    try {
      const part = Buffer.allocUnsafe(Math.max(0, Math.min(COPY_BYTES, source.size - start)));
      for (let position = start; position < source.size;) {
        const n = await source.read(
          part,
          0,
          Math.min(part.length, source.size - position),
          position,
        );
        if (n <= 0) break;
        await target.write(part.subarray(0, n));
        position += n;
      }
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
  await files.syncDir(dirname(to));
}
