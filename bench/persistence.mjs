// Persistence benchmark: write throughput under each fsync policy with 1 and 100 concurrent
// writers, against a memory-only store, the time to recover 1,000,000 records (written by a
// child process that then stops without closing, as a crash would), and the
// longest event-loop pauses of long operations at 1,000,000 records (persistence-stalls.mjs).
// Every figure is a row of a value table (writes/s, s, ms; see Suite.values), printed by the
// same report as the other sections. Run: `npm run build && node --expose-gc
// bench/persistence.mjs` (also `node bench/run.mjs --only=persistence`). BENCH_RECOVERY_RECORDS
// sets the recovery's count (default 1,000,000), BENCH_STALL_RECORDS the stalls' (the same).
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { runStalls } from './persistence-stalls.mjs';
import { printSection } from './report.mjs';
import { Suite } from './suite.mjs';

class Row {
  id;
  n = 0;
  label = 'row';
}
Table({ name: 'rows' })(Row);
class Rows extends MemoryStore {}
Store({ table: Row })(Rows);

async function boot(persistence) {
  class App {}
  Module({ imports: [MemoryStoreModule.forRoot({ stores: [Rows], persistence })] })(App);
  const app = await NestFactory.createApplicationContext(App, { logger: false });
  return { app, rows: app.get(Rows) };
}

async function throughput(persistence, writers, total) {
  const dir = persistence ? mkdtempSync(join(tmpdir(), 'nms-bench-')) : undefined;
  const { app, rows } = await boot(persistence && { ...persistence, dir });
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const id = `r${next++}`;
        await rows.write({ id, n: next });
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await app.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

/**
 * What the recovery case recovers from, written by a child process (`--crash-writer <dir>
 * <count>`): `count` records, a snapshot at close, then a second start writing a tail of
 * 10,001 records to the log and a stop without close (a crash: the log holds the tail, the
 * directory's lock names a process that is gone).
 */
async function crashWriter(dir, count) {
  const persistence = { dir, fsync: 'no' };
  let { app, rows } = await boot(persistence);
  for (let i = 0; i < count; i += 10_000) {
    rows.dirtyWriteMany(
      Array.from({ length: Math.min(10_000, count - i) }, (_, j) => ({
        id: `r${i + j}`,
        n: i + j,
      })),
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
  await rows.write({ id: 'last', n: -1 });
  await app.close(); // writes a snapshot
  ({ app, rows } = await boot(persistence));
  for (let i = 0; i < 10_000; i++) rows.dirtyWrite({ id: `tail${i}`, n: i });
  await rows.write({ id: 'tail-last', n: 0 });
  process.exit(0);
}

async function recovery(count) {
  const dir = mkdtempSync(join(tmpdir(), 'nms-bench-'));
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--crash-writer', dir, String(count)],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) throw new Error(`the crash writer exited with ${child.status}`);
  global.gc?.();
  const started = process.hrtime.bigint();
  const again = await boot({ dir, fsync: 'no' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const size = again.rows.size;
  await again.app.close();
  rmSync(dir, { recursive: true, force: true });
  return { seconds, size };
}

const RECOVERY_RECORDS = Number(process.env.BENCH_RECOVERY_RECORDS ?? 1_000_000);

/** Runs into the current section of `suite`: throughput, recovery, then the stalls. */
export async function runPersistence(suite) {
  const cases = [
    ['memory only', undefined],
    ["fsync 'no'", { fsync: 'no' }],
    ["fsync 'everysec'", { fsync: 'everysec' }],
    ["fsync 'always'", { fsync: 'always' }],
  ];
  for (const writers of [1, 100]) {
    const group = suite.values(
      `write throughput, ${writers} concurrent writer${writers > 1 ? 's' : ''} (awaited writes)`,
      { comment: 'ratio = these writes/s / memory-only writes/s', lowerIsBetter: false },
    );
    for (const [label, persistence] of cases) {
      const total = persistence?.fsync === 'always' && writers === 1 ? 2_000 : 20_000;
      suite.progress(`persistence: ${label}, ${writers} writer(s), ${total} writes...`);
      const rate = await throughput(persistence, writers, total);
      suite.value(group, {
        label,
        value: rate,
        unit: 'writes/s',
        baseline: !persistence,
        note: `${total.toLocaleString('en-US')} writes`,
      });
      global.gc?.();
    }
  }
  suite.progress(`persistence: recovery of ${RECOVERY_RECORDS.toLocaleString('en-US')} records...`);
  const { seconds, size } = await recovery(RECOVERY_RECORDS);
  const group = suite.values('recovery at start-up');
  suite.value(group, {
    label: `recovery of a snapshot of ${(RECOVERY_RECORDS + 1).toLocaleString('en-US')} + 10,001 in the log`,
    value: seconds,
    unit: 's',
    note: `${size.toLocaleString('en-US')} records recovered`,
  });
  global.gc?.();
  await runStalls(suite);
}

if (process.argv[2] === '--crash-writer') {
  await crashWriter(process.argv[3], Number(process.argv[4]));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const suite = new Suite();
  suite.section('persistence', 'write throughput, recovery, event-loop pauses');
  await runPersistence(suite);
  suite.sections.forEach(printSection);
}
