import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FILE_SYSTEM } from '../../../lib/persistence/file-system.js';
import { Journal } from '../../../lib/persistence/journal.js';
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
});
