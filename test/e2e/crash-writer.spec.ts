import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuildCurrent, CrashWriter } from './fixtures/crash-writer-process.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';

/**
 * The crash test (persistence-crash.spec.ts) proves that a recovery holds nothing that was
 * never written by comparing it with the `i <n>` lines the children printed. That holds only
 * if every line printed before a write reaches the parent, even when the parent is too busy
 * to read for a while and then kills the child: a child's stdout is a socket that fills after
 * a few hundred short lines, and whatever Node then keeps queued in the child dies with it.
 */

/** Blocks this process's event loop, so that nothing reads the child's output meanwhile. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('crash-writer fixture', () => {
  let dir: string;
  const writers: CrashWriter[] = [];

  beforeAll(async () => {
    assertBuildCurrent();
    dir = await tempDir('crash-writer');
  });

  afterAll(async () => {
    for (const writer of writers) {
      writer.kill();
      await writer.exited;
    }
    if (dir) await removeDir(dir);
  });

  const start = async () => {
    const writer = new CrashWriter(dir, 'always', 2048);
    writers.push(writer);
    await writer.loaded;
    writer.go();
    await Promise.race([writer.booted, writer.exited]);
    expect(writer.recovered).toBeDefined();
    return writer;
  };

  it('reports each write as issued before writing it, even to a parent that stopped reading and then killed it', async () => {
    const first = await start();
    // long enough for hundreds of fsynced writes: far more lines than the socket holds
    stall(2000);
    first.kill();
    await first.exited;
    expect(first.rejected).toEqual([]);

    const second = await start();
    second.kill();
    await second.exited;
    const ids = second.recovered!.map(([id]) => id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(Math.max(0, ...first.issued));
    expect(first.acked.filter((id) => !ids.includes(id))).toEqual([]);
  }, 60_000);
});
