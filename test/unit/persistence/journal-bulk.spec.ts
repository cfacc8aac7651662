import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FILE_SYSTEM } from '../../../lib/persistence/file-system.js';
import { Journal } from '../../../lib/persistence/journal.js';
import { LogRecovery } from '../../../lib/persistence/log-recovery.js';
import type { LogOp } from '../../../lib/persistence/log-records.js';
import { encodeValue } from '../../../lib/persistence/value-codec.js';

/**
 * A bulk operation (a large writeMany applying in slices) holds its log records until it has
 * applied all of them, so that recovery finds all of a batch or none. A snapshot reads the
 * live table meanwhile and may read part of such a batch: it must not take effect before the
 * batch's records are in the log, or a crash in between would recover part of the batch.
 */
describe('Journal: a snapshot during a bulk operation', () => {
  const dirs: string[] = [];
  const journals: Journal[] = [];

  afterEach(async () => {
    for (const journal of journals.splice(0)) await journal.close().catch(() => undefined);
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  const exists = (file: string) =>
    stat(file).then(
      () => true,
      () => false,
    );

  it('takes effect only once the bulk operation running when it read the table has ended', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nms-journal-bulk-'));
    dirs.push(dir);
    const journal = new Journal(dir, 'always', NODE_FILE_SYSTEM);
    journals.push(journal);
    await journal.open('notes');
    let release!: () => void;
    let bulk: Promise<void> | undefined = new Promise<void>((resolve) => (release = resolve));
    const rows = new Map<string, object>([['a', { id: 'a' }]]); // part of a batch, applied
    journal.attach('notes', {
      rows,
      deadline: () => undefined,
      counters: () => [],
      version: 1,
      bulk: () => bulk,
    });
    let taken = false;
    const snapshot = journal.snapshot().then(() => (taken = true));
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(taken).toBe(false);
    expect(await exists(join(dir, 'snapshot'))).toBe(false);

    // The batch ends: its records are logged, then the snapshot takes effect.
    journal.log(['p', 'notes', 'a', encodeValue({ id: 'a' }), null]);
    bulk = undefined;
    release();
    await snapshot;
    expect(taken).toBe(true);
    expect(await exists(join(dir, 'snapshot'))).toBe(true);
  });

  it("logAll logs a bulk operation's held records in order, after changes logged before them, as one batch a restart recovers", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nms-journal-bulk-'));
    dirs.push(dir);
    const journal = new Journal(dir, 'always', NODE_FILE_SYSTEM);
    journals.push(journal);
    await journal.open('notes');
    journal.log(['p', 'notes', 'a', encodeValue({ id: 'a', n: 0 }), null]);
    const held: LogOp[] = Array.from({ length: 3000 }, (_, i) => [
      'p',
      'notes',
      i % 2 === 0 ? 'a' : `k${i}`,
      encodeValue({ id: i % 2 === 0 ? 'a' : `k${i}`, n: i }),
      null,
    ]);
    journal.logAll(held);
    journal.log(['d', 'notes', 'k1']);
    await journal.durable();

    // read back from the log, as start-up reads it
    const recovery = new LogRecovery(dir, NODE_FILE_SYSTEM, 'notes', 'fail', new Logger('test'));
    await recovery.run();
    const rows = recovery.tables.get('notes')!.rows;
    expect(rows.size).toBe(1 + 1500 - 1);
    expect(rows.get('a')?.[0]).toEqual(encodeValue({ id: 'a', n: 2998 })); // the last put of 'a' wins
    expect(rows.has('k1')).toBe(false); // the delete logged after them applies after them
    expect(rows.get('k2999')?.[0]).toEqual(encodeValue({ id: 'k2999', n: 2999 }));
  });
});
