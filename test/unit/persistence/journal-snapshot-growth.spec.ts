import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FILE_SYSTEM } from '../../../lib/persistence/file-system.js';
import { Journal, type TableView } from '../../../lib/persistence/journal.js';
import { LogRecovery, SEGMENT } from '../../../lib/persistence/log-recovery.js';
import { encodeValue } from '../../../lib/persistence/value-codec.js';

/**
 * Snapshots of a table that grows fast. A snapshot covers the log up to its sequence (the
 * last one before it moves the log to a new segment); what is written after that is replayed
 * from the log. So a snapshot reads the records present when it started, not those written
 * while it runs (else it chases the table's growth), and the log written while it runs is the
 * next snapshot's to cover: a threshold crossed meanwhile starts that one as soon as it ends.
 */
describe('Journal: snapshots while the table grows', () => {
  const dirs: string[] = [];
  const journals: Journal[] = [];

  afterEach(async () => {
    for (const journal of journals.splice(0)) await journal.close().catch(() => undefined);
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  const PAD = 'p'.repeat(200);

  async function open(snapshotEveryBytes: number) {
    const dir = await mkdtemp(join(tmpdir(), 'nms-journal-growth-'));
    dirs.push(dir);
    const journal = new Journal(dir, 'no', NODE_FILE_SYSTEM, { snapshotEveryBytes });
    journals.push(journal);
    await journal.open('notes');
    const rows = new Map<string, object>();
    let bulk: Promise<void> | undefined;
    const view: TableView = {
      rows,
      deadline: () => undefined,
      counters: () => [],
      version: 1,
      bulk: () => bulk,
    };
    journal.attach('notes', view);
    let next = 0;
    /** Writes `n` new records to the table and the log, as a store's writeMany does. */
    const write = (n: number) => {
      for (let i = 0; i < n; i++) {
        const record = { id: `r${next}`, pad: PAD, n: next++ };
        rows.set(record.id, record);
        journal.log(['p', 'notes', record.id, encodeValue(record), null]);
      }
    };
    const hold = (held: Promise<void> | undefined) => (bulk = held);
    return { dir, journal, rows, write, hold };
  }

  /** Bytes of log segments on disk. */
  async function logBytes(dir: string): Promise<number> {
    let sum = 0;
    for (const name of await readdir(dir))
      if (SEGMENT.test(name)) sum += (await stat(join(dir, name))).size;
    return sum;
  }

  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('reads the records present when it started, not those written while it runs, and recovery finds them all', async () => {
    const { dir, journal, rows, write } = await open(Number.MAX_SAFE_INTEGER);
    write(20_000);
    await journal.durable();
    await journal.snapshot();
    const still = (await stat(join(dir, 'snapshot'))).size; // the table, nothing written meanwhile

    // a writer adds 2,000 records on every turn of the event loop while the snapshot runs
    let running = true;
    const snapshot = journal.snapshot().finally(() => (running = false));
    let turns = 0;
    while (running && turns < 100) {
      await turn();
      write(2000);
      turns++;
    }
    await snapshot;
    expect(turns).toBeGreaterThan(1); // it ran over several turns: writes went on meanwhile
    // the same 20,000 records (give or take the digits of a sequence number and a date)
    expect((await stat(join(dir, 'snapshot'))).size).toBeLessThan(still + 64);

    await journal.durable();
    const recovery = new LogRecovery(dir, NODE_FILE_SYSTEM, 'notes', 'fail', new Logger('test'));
    await recovery.run();
    const recovered = recovery.tables.get('notes')!.rows;
    expect(recovered.size).toBe(rows.size);
    expect(recovered.size).toBe(20_000 + 2000 * turns);
    const last = `r${rows.size - 1}`;
    expect(recovered.get(last)?.[0]).toEqual(encodeValue(rows.get(last)!));
  });

  it('a threshold crossed while a snapshot runs starts the next one once it ends', async () => {
    const every = 256 * 1024;
    const { dir, journal, write, hold } = await open(every);
    // the snapshot the first threshold starts waits (for a bulk operation) before it ends
    let release!: () => void;
    hold(new Promise<void>((resolve) => (release = resolve)));
    write(1500); // ~400 KB of log: past the threshold
    await journal.durable();
    let segments = 1;
    for (let i = 0; i < 500 && segments < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      segments = (await readdir(dir)).filter((name) => SEGMENT.test(name)).length;
    }
    expect(segments).toBe(2); // it rotated the log and waits

    write(2000); // past the threshold again, while it runs
    await journal.durable();
    expect(await logBytes(dir)).toBeGreaterThan(every);
    hold(undefined);
    release();

    // the next snapshot covers what was written meanwhile: the log shrinks below the threshold
    let bytes = await logBytes(dir);
    for (let i = 0; i < 500 && bytes >= every; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      bytes = await logBytes(dir);
    }
    expect(bytes).toBeLessThan(every);
  });
});
