import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_MAGIC, readBackup, type BackupFrame } from '../../../lib/persistence/backup.js';
import { NODE_FILE_SYSTEM } from '../../../lib/persistence/file-system.js';
import { encodeFrame } from '../../../lib/persistence/log-format.js';

/**
 * `restore()` reads a backup a chunk at a time. Backups written before rows came in bounded
 * frames hold a large record as one frame of any size: reading it must cost in proportion to
 * its size, not gather it by copying everything read so far once per chunk.
 */
describe('readBackup', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('reads a frame of many chunks (a large record, as earlier versions wrote it) copying its bytes a bounded number of times', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nms-backup-reader-'));
    dirs.push(dir);
    const text = 'abc\u00e9'.repeat(6 * 1024 * 1024); // 30 MB of UTF-8
    const frames = [
      { t: 'meta', at: new Date(0).toISOString() },
      { t: 'table', table: 'notes', version: 1 },
      { t: 'rows', table: 'notes', rows: [['big', ['O', { id: 'big', text }], null, 1]] },
      { t: 'counters', table: 'notes', counters: [] },
      { t: 'end', tables: 1 },
    ];
    const file = Buffer.concat([
      BACKUP_MAGIC,
      ...frames.map((frame, i) => encodeFrame(i + 1, JSON.stringify(frame))),
    ]);
    const path = join(dir, 'old.bak');
    await writeFile(path, file);

    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = jest.spyOn(Buffer, 'concat').mockImplementation((list, length) => {
      const joined = concat(list, length);
      copied += joined.length;
      return joined;
    });
    const read: BackupFrame[] = [];
    try {
      await readBackup(NODE_FILE_SYSTEM, path, (frame) => void read.push(frame));
    } finally {
      spy.mockRestore();
    }
    expect(read.map((frame) => frame.t)).toEqual(['meta', 'table', 'rows', 'counters']);
    const rows = (read[2] as Extract<BackupFrame, { t: 'rows' }>).rows;
    expect((rows[0][1] as [string, { text: string }])[1].text === text).toBe(true);
    expect(copied).toBeLessThanOrEqual(3 * file.length);
  });
});
