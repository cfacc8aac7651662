// Persistence benchmark: write throughput under each fsync policy with 1 and 100 concurrent
// writers, against a memory-only store, the time to recover 1,000,000 records, and the
// longest event-loop pauses of long operations at 1,000,000 records (persistence-stalls.mjs).
// Run: `npm run build && node --expose-gc bench/persistence.mjs` (also `node bench/run.mjs --only=persistence`).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { runStalls } from './persistence-stalls.mjs';

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

async function recovery(count) {
  const dir = mkdtempSync(join(tmpdir(), 'nms-bench-'));
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
  // and a log tail after the snapshot
  ({ app, rows } = await boot(persistence));
  for (let i = 0; i < 10_000; i++) rows.dirtyWrite({ id: `tail${i}`, n: i });
  await rows.write({ id: 'tail-last', n: 0 });
  // crash-like stop: no final snapshot, the log holds the tail
  global.gc?.();
  const started = process.hrtime.bigint();
  const again = await boot(persistence);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const size = again.rows.size;
  await again.app.close();
  await app.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  return { seconds, size };
}

export async function runPersistence() {
  console.log(
    '\n== persistence: write throughput (awaited writes; ratio = these writes/s ÷ memory-only writes/s)',
  );
  const cases = [
    ['memory only', undefined],
    ["fsync 'no'", { fsync: 'no' }],
    ["fsync 'everysec'", { fsync: 'everysec' }],
    ["fsync 'always'", { fsync: 'always' }],
  ];
  const baseline = {};
  for (const writers of [1, 100]) {
    for (const [label, persistence] of cases) {
      const total = persistence?.fsync === 'always' && writers === 1 ? 2_000 : 20_000;
      const rate = await throughput(persistence, writers, total);
      if (!persistence) baseline[writers] = rate;
      const ratio = persistence ? (rate / baseline[writers]).toFixed(3) : '1.000';
      console.log(
        `${label.padEnd(18)} ${String(writers).padStart(3)} writer(s)  ${Math.round(rate).toLocaleString('en').padStart(10)} writes/s  ratio ${ratio}`,
      );
      global.gc?.();
    }
  }
  console.log('\n== persistence: recovery');
  const { seconds, size } = await recovery(1_000_000);
  console.log(
    `recovered ${size.toLocaleString('en')} records (snapshot of 1,000,001 + 10,001 in the log) in ${seconds.toFixed(2)} s`,
  );
  global.gc?.();
  await runStalls();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  await runPersistence();
}
