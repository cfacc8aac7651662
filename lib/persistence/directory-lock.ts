import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file of a persistence directory. */
export const LOCK_FILE = 'lock';

/** Who holds a directory: written into its lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** Linux: the boot the process ran in (`/proc/sys/kernel/random/boot_id`). */
  readonly boot?: string;
  /** Linux: the process's start time in clock ticks since boot (`/proc/<pid>/stat`). */
  readonly start?: string;
  /** When it took the directory (ISO time). */
  readonly since: string;
}

/** A directory another live process (or another store module of this one) holds. */
export class DirectoryLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `it is held by process ${holder.pid} on host ${holder.host} (since ${holder.since}); ` +
        `one directory has one owner: stop that process, or give this one another directory` +
        (holder.host === hostname()
          ? ''
          : `. A lock from another host is never taken over: if that process is gone, delete ${join(dir, LOCK_FILE)}`),
    );
    this.name = 'DirectoryLockedError';
  }
}

/** Directories this process holds, shared by every copy of the library loaded in it. */
const HELD: Set<string> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('nestjs-memory-store.held-directories')
] ??= new Set<string>()) as Set<string>;

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const bootId = (): string | undefined => readProc('/proc/sys/kernel/random/boot_id')?.trim();

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function startTime(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/**
 * Whether the holder of a lock may still be running. A process on another host cannot be
 * checked, so it counts as live. On this host: this process is live only if it holds the
 * directory now (a lock with our pid was left by an earlier process that had it, or copied);
 * another process is gone if the machine restarted since (boot id), if no process has its
 * pid, or if the process with its pid started at another time (the pid was reused).
 */
function mayBeAlive(dir: string, holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return HELD.has(dir);
  const boot = bootId();
  if (holder.boot && boot && holder.boot !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = startTime(holder.pid);
  return !(holder.start && start && holder.start !== start);
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(text) as LockHolder;
    return Number.isSafeInteger(holder.pid) && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

const code = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * One owner per persistence directory, through a lock file created atomically: the holder's
 * details go into a private file, which is then hard-linked as `lock` (a link never replaces
 * an existing file, and the lock is never seen half-written). A lock whose holder is gone is
 * taken over: it is renamed aside (only one of two racing openers moves it), checked to be
 * the one judged stale (else it is put back), and removed. Released by `release()`.
 */
export class DirectoryLock {
  private constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {}

  /** Takes the directory (which must exist), or throws DirectoryLockedError. */
  static async acquire(named: string): Promise<DirectoryLock> {
    // one key per directory, however it is named (a symlink, a relative path)
    const dir = await fs.realpath(named);
    if (HELD.has(dir)) throw new DirectoryLockedError(named, await DirectoryLock.#holder(dir));
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      boot: bootId(),
      start: startTime(process.pid),
      since: new Date().toISOString(),
    };
    const text = JSON.stringify(holder);
    const path = join(dir, LOCK_FILE);
    const mine = join(dir, `.${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
    await fs.writeFile(mine, text, { flag: 'wx', mode: 0o644 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await fs.link(mine, path);
          HELD.add(dir);
          return new DirectoryLock(dir, holder);
        } catch (error) {
          if (code(error) !== 'EEXIST') throw error;
        }
        const found = await fs.readFile(path, 'utf8').catch((error: unknown) => {
          if (code(error) === 'ENOENT') return undefined; // released meanwhile: try again
          throw error;
        });
        if (found === undefined) continue;
        const other = parseHolder(found);
        // An unreadable lock is one written by something else: never guess it is stale.
        if (!other) throw new Error(`its lock file ${path} is not one this library writes`);
        if (mayBeAlive(dir, other)) throw new DirectoryLockedError(named, other);
        await DirectoryLock.#takeOver(path, found);
      }
      throw new Error(`its lock file ${path} kept changing while it was taken`);
    } finally {
      await fs.unlink(mine).catch(() => undefined);
    }
  }

  static async #holder(dir: string): Promise<LockHolder> {
    const text = await fs.readFile(join(dir, LOCK_FILE), 'utf8').catch(() => '');
    return (
      parseHolder(text) ?? {
        pid: process.pid,
        host: hostname(),
        since: 'its start in this process',
      }
    );
  }

  /** Removes the stale lock `stale` unless another opener replaced it meanwhile. */
  static async #takeOver(path: string, stale: string): Promise<void> {
    const aside = `${path}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(path, aside);
    } catch (error) {
      if (code(error) === 'ENOENT') return; // another opener took it over first
      throw error;
    }
    const moved = await fs.readFile(aside, 'utf8');
    if (moved !== stale) {
      // a racing opener's fresh lock: put it back (it cannot have been replaced, we hold it)
      await fs.link(aside, path).catch(() => undefined);
    }
    await fs.unlink(aside);
  }

  /** Gives the directory up (on a clean shutdown). */
  async release(): Promise<void> {
    if (!HELD.delete(this.dir)) return;
    const path = join(this.dir, LOCK_FILE);
    const found = await fs.readFile(path, 'utf8').catch(() => undefined);
    if (found !== undefined && parseHolder(found)?.since === this.holder.since)
      await fs.unlink(path).catch(() => undefined);
  }
}
