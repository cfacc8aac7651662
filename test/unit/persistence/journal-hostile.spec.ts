import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardedKeyMap } from '../../../lib/engine/sharded-key-map.js';
import { NODE_FILE_SYSTEM, type AppendFile } from '../../../lib/persistence/file-system.js';
import { Journal } from '../../../lib/persistence/journal.js';
import { LogRecovery } from '../../../lib/persistence/log-recovery.js';
import type { LogOp } from '../../../lib/persistence/log-records.js';
import { encodeValue } from '../../../lib/persistence/value-codec.js';
import { RealFileSystem } from '../../e2e/fixtures/persistence-files.js';

/**
 * Hostile inputs to the parts persistence and bulk writes landed with (issue 13).
 */
describe('bulk writes: the staged keys of a batch (ShardedKeyMap)', () => {
  /** The largest share of the keys one part holds. */
  function largestShare(keys: readonly (string | number)[]): number {
    const map = new ShardedKeyMap<number>();
    keys.forEach((key, i) => map.set(key, i));
    expect(map.size).toBe(new Set(keys).size);
    return Math.max(...map.shardSizes) / map.size;
  }

  // one part holding most keys is one Map: it rehashes them all in one step, the pause the
  // parts are there to cut
  for (const [name, make] of [
    ['a common suffix', (i: number) => `${i.toString(36)}-session`],
    [
      'a common suffix and length',
      (i: number) => `user/${String(i).padStart(8, '0')}/profile.json`,
    ],
    ['a common prefix', (i: number) => `tenant-acme:${i}`],
    ['long keys differing in the middle', (i: number) => `${'p'.repeat(40)}${i}${'s'.repeat(40)}`],
  ] as const) {
    it(`spreads keys with ${name} over its parts`, () => {
      const keys = Array.from({ length: 50_000 }, (_, i) => make(i));
      expect(largestShare(keys)).toBeLessThan(1 / 20);
    });
  }

  it('holds keys as a Map does: 1 and "1", 0 and -0, NaN, integers equal in their low 32 bits', () => {
    const keys = [1, '1', 0, -0, '0', '-0', NaN, 'NaN', 2 ** 32 + 1, 1.5, 2 ** 53, Infinity, ''];
    const map = new ShardedKeyMap<number>();
    const reference = new Map<string | number, number>();
    keys.forEach((key, i) => {
      expect(map.get(key)).toBe(reference.get(key));
      map.set(key, i);
      reference.set(key, i);
    });
    for (const key of keys)
      expect([map.has(key), map.get(key)]).toEqual([true, reference.get(key)]);
    expect(map.size).toBe(reference.size);
  });
});

describe('Journal: batches whose frames end exactly at, or just around, a write of the log', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** The log writes gather this many bytes of frames (see WRITE_BYTES in journal.ts). */
  const WRITE = 1024 * 1024;
  const HEADER = 16;

  it("acknowledges each under fsync 'always' and recovers it, whatever its size around 1 MB", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nms-journal-hostile-'));
    dirs.push(dir);
    const journal = new Journal(dir, 'always', NODE_FILE_SYSTEM);
    await journal.open('notes');
    const opOf = (key: string, text: string): LogOp => [
      'p',
      'notes',
      key,
      encodeValue({ id: key, text }),
      null,
    ];
    // the frame a batch of one put makes, with `pad` characters of text ('€': 3 bytes each, and ASCII)
    const frameBytes = (key: string, text: string) =>
      HEADER + Buffer.byteLength(JSON.stringify({ o: [opOf(key, text)] }));
    const written: [string, string][] = [];
    for (let delta = -3; delta <= 20; delta++) {
      const key = `k${delta + 3}`;
      // a text whose frame is WRITE + delta bytes (the last frame of the batch fills a write exactly at 0)
      let text = '€'.repeat(Math.floor((WRITE - 200) / 3));
      text += 'x'.repeat(WRITE + delta - frameBytes(key, text));
      expect(frameBytes(key, text)).toBe(WRITE + delta);
      journal.log(opOf(key, text));
      const acknowledged = await Promise.race([
        journal.durable().then(() => true),
        new Promise((resolve) => setTimeout(resolve, 5_000, false)),
      ]);
      expect({ delta, acknowledged }).toEqual({ delta, acknowledged: true });
      written.push([key, text]);
    }
    // read back from the log, as start-up reads it (closing would snapshot a table no store attached)
    const recovery = new LogRecovery(dir, NODE_FILE_SYSTEM, 'notes', 'fail', new Logger('test'));
    await recovery.run();
    const rows = recovery.tables.get('notes')!.rows;
    expect(rows.size).toBe(written.length);
    for (const [key, text] of written)
      expect(rows.get(key)?.[0]).toEqual(encodeValue({ id: key, text }));
    await journal.close();
  });
});

describe("Journal under fsync 'always': no batch is acknowledged before its bytes are fsynced", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** The real file system, noting per open log file the bytes written and those an fsync covered. */
  class SyncLedger extends RealFileSystem {
    /** Bytes handed to write() on the file open now, and how many of them the last fsync began after. */
    written = 0;
    synced = 0;
    override openAppend = async (file: string): Promise<AppendFile> => {
      const handle = await NODE_FILE_SYSTEM.openAppend(file);
      if (!file.endsWith('.log')) return handle;
      this.written = 0;
      this.synced = 0;
      return {
        write: (data) => {
          this.written += data.length;
          return handle.write(data);
        },
        sync: async () => {
          const covered = this.written;
          await handle.sync();
          this.synced = Math.max(this.synced, covered);
        },
        close: () => handle.close(),
      };
    };
  }

  it('single puts, batches of thousands spanning many writes, and batches logged a tick apart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nms-journal-hostile-'));
    dirs.push(dir);
    const files = new SyncLedger();
    const journal = new Journal(dir, 'always', files, {
      snapshotEveryBytes: Number.MAX_SAFE_INTEGER,
    });
    await journal.open('notes');
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const unsynced: string[] = [];
    const acks: Promise<void>[] = [];
    let n = 0;
    for (let round = 0; round < 60; round++) {
      const ops = random() < 0.4 ? 1 : 1 + Math.floor(random() * 4000);
      for (let i = 0; i < ops; i++) {
        const key = `k${n++}`;
        journal.log([
          'p',
          'notes',
          key,
          encodeValue({ id: key, t: 'é'.repeat(Math.floor(random() * 600)) }),
          null,
        ]);
      }
      const label = `round ${round} (${ops} puts)`;
      acks.push(
        journal.durable().then(() => {
          if (files.synced < files.written)
            unsynced.push(`${label}: ${files.written - files.synced} bytes written, not fsynced`);
        }),
      );
      if (random() < 0.5) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(acks);
    expect(unsynced).toEqual([]);
    await journal.close();
  });
});
