import { basename } from 'node:path';
import {
  openForReading,
  type AppendFile,
  type PersistenceFileSystem,
} from '../persistence/file-system.js';

/** Where a data directory's timed file work goes (histograms of the metrics module). */
export interface PersistenceRecorder {
  /** An fsync of the log: how long it took and how many bytes it made durable. */
  fsync(ms: number, bytes: number): void;
  /** A snapshot written: from creating its temporary file to renaming it in place. */
  snapshot(ms: number): void;
}

/** The name of the file a snapshot is written to before it is renamed in place. */
const SNAPSHOT_TEMPORARY = /^snapshot.*\.tmp$/;

/**
 * A data directory's fsyncs and snapshots, timed at the file system (so the journal itself
 * is left alone) while a recorder is set.
 */
export class PersistenceActivity {
  fsyncs = 0;
  snapshots = 0;
  recorder: PersistenceRecorder | undefined;
  #snapshotStarted: number | undefined;

  /** The file system, reporting to this activity. */
  instrument(files: PersistenceFileSystem): PersistenceFileSystem {
    const startSnapshot = (file: string) => {
      if (SNAPSHOT_TEMPORARY.test(basename(file))) this.#snapshotStarted ??= performance.now();
    };
    return {
      mkdir: (dir) => files.mkdir(dir),
      readdir: (dir) => files.readdir(dir),
      readFile: (file) => files.readFile(file),
      openRead: (file) => openForReading(files, file),
      truncate: (file, length) => files.truncate(file, length),
      unlink: (file) => files.unlink(file),
      syncDir: (dir) => files.syncDir(dir),
      writeFile: (file, data) => {
        startSnapshot(file);
        return files.writeFile(file, data);
      },
      rename: async (from, to) => {
        await files.rename(from, to);
        if (this.#snapshotStarted !== undefined && SNAPSHOT_TEMPORARY.test(basename(from))) {
          this.snapshots++;
          this.recorder?.snapshot(performance.now() - this.#snapshotStarted);
          this.#snapshotStarted = undefined;
        }
      },
      openAppend: async (file) => {
        startSnapshot(file);
        return this.#appendFile(await files.openAppend(file));
      },
    };
  }

  #appendFile(file: AppendFile): AppendFile {
    let unsynced = 0;
    return {
      write: (data) => {
        unsynced += data.length;
        return file.write(data);
      },
      sync: async () => {
        const started = performance.now();
        const bytes = unsynced;
        unsynced = 0;
        await file.sync();
        this.fsyncs++;
        this.recorder?.fsync(performance.now() - started, bytes);
      },
      close: () => file.close(),
    };
  }
}
