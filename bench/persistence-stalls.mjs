// Event-loop pauses and memory of long persistence operations at 1,000,000 records (issue 13):
// the longest pause (monitorEventLoopDelay, 5 ms resolution) during writeMany of every record
// in one call, a snapshot, backup, export and import in each format, restore, and recovery at
// start-up; how long each took; peak RSS growth during export and backup.
// BENCH_STALL_RECORDS sets the count (default 1,000,000). BENCH_STALL_ONLY=recovery writes the
// records and measures only the recovery at the next start (about a minute); =backup and =export
// write them and measure only the backup, or only the exports (each on a fresh heap, so that
// one's peak memory is not hidden by another's). Each operation is
// a row of a value table: its longest pause in ms (target < 50 ms), with how long it took and
// (export, backup) the peak growth of RSS and of the JS heap in its note.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
} from 'nestjs-memory-store';
import { registryOf } from '../dist/store/store-registry.js';
import { printSection } from './report.mjs';
import { Suite } from './suite.mjs';

class Person {
  id;
  n = 0;
  dept = '';
  label = '';
  active = false;
}
Table({ name: 'people', indexes: ['dept'] })(Person);
class People extends MemoryStore {}
Store({ table: Person })(People);

const RESOLUTION_MS = 5;
/** The target for the longest pause (its goal is 20 ms). */
const PAUSE_TARGET_MS = 50;
const record = (i) => ({
  id: `r${i}`,
  n: i,
  dept: `d${i % 50}`,
  label: 'some text value',
  active: i % 2 === 0,
});

async function boot(persistence) {
  class App {}
  Module({ imports: [MemoryStoreModule.forRoot({ stores: [People], persistence })] })(App);
  const app = await NestFactory.createApplicationContext(App, { logger: false });
  return { app, people: app.get(People), memory: app.get(MemoryStoreService) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/**
 * Runs `work`, measuring the longest event-loop pause, the time taken and (with `rss`) the
 * peak resident memory above what it was at the start; adds the row to `group`.
 */
async function measure(suite, group, label, work, { rss = false } = {}) {
  suite.progress(`persistence stalls: ${label}...`);
  global.gc?.();
  await settle();
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const baseline = process.memoryUsage();
  const peak = { rss: baseline.rss, heapUsed: baseline.heapUsed };
  // RSS alone hides growth into pages an earlier step left committed: the heap shows it
  const sampler = rss
    ? setInterval(() => {
        const now = process.memoryUsage();
        peak.rss = Math.max(peak.rss, now.rss);
        peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
      }, 10)
    : undefined;
  delay.enable();
  const started = performance.now();
  let outcome = '';
  try {
    await work();
  } catch (error) {
    outcome = `  FAILED: ${error?.constructor?.name}: ${String(error?.message).slice(0, 100)}`;
  }
  const took = performance.now() - started;
  await settle();
  delay.disable();
  clearInterval(sampler);
  const pause = Math.max(0, delay.max / 1e6 - RESOLUTION_MS);
  const growth = (field) => Math.round((peak[field] - baseline[field]) / 2 ** 20);
  const memory = rss ? `; peak RSS +${growth('rss')} MB, heap +${growth('heapUsed')} MB` : '';
  if (outcome) suite.warn(`persistence stalls: ${label}:${outcome}`);
  suite.value(group, {
    label,
    value: pause,
    unit: 'ms',
    max: PAUSE_TARGET_MS,
    note: `took ${took.toFixed(0)} ms${memory}${outcome}`,
  });
}

/** Runs into the current section of `suite`: one value table of pauses. */
export async function runStalls(
  suite,
  count = Number(process.env.BENCH_STALL_RECORDS ?? 1_000_000),
) {
  const group = suite.values(
    `longest event-loop pause at ${count.toLocaleString('en-US')} records`,
    {
      comment: `monitorEventLoopDelay, ${RESOLUTION_MS} ms resolution; target < ${PAUSE_TARGET_MS} ms, goal 20 ms`,
    },
  );
  const m = (...args) => measure(suite, group, ...args);
  const scratch = mkdtempSync(join(tmpdir(), 'nms-bench-stalls-'));
  const dir = join(scratch, 'data');
  const records = Array.from({ length: count }, (_, i) => record(i));
  try {
    const only = process.env.BENCH_STALL_ONLY;
    if (only === 'recovery') {
      let { app, people } = await boot({ dir, fsync: 'everysec', snapshotEveryBytes: 1e12 });
      await people.writeMany(records);
      await app.close();
      await m(`recovery of ${count.toLocaleString('en')} at start-up`, async () => {
        ({ app, people } = await boot({ dir, fsync: 'everysec' }));
        if (people.size !== count) throw new Error(`recovered ${people.size}`);
      });
      await app.close();
      return;
    }
    if (only === 'backup' || only === 'export') {
      const { app, people, memory } = await boot({
        dir,
        fsync: 'everysec',
        snapshotEveryBytes: 1e12,
      });
      await people.writeMany(records);
      await registryOf(people).journalFor(people).snapshot(); // as in the whole run
      if (only === 'backup')
        await m('backup()', () => memory.backup(join(scratch, 'all.bak')), { rss: true });
      else
        for (const format of ['ndjson', 'csv', 'json'])
          await m(
            `export ${format}`,
            () => memory.export(People, join(scratch, `people.${format}`)),
            {
              rss: true,
            },
          );
      await app.close();
      return;
    }
    {
      const { app, people } = await boot(undefined);
      await m('writeMany, memory only', () => people.writeMany(records));
      await app.close();
    }
    let { app, people, memory } = await boot({ dir, fsync: 'everysec', snapshotEveryBytes: 1e12 });
    await m("writeMany, fsync 'everysec'", () => people.writeMany(records));
    const journal = registryOf(people).journalFor(people);
    await m('snapshot', () => journal.snapshot());
    const backup = join(scratch, 'all.bak');
    await m('backup()', () => memory.backup(backup), { rss: true });
    for (const format of ['ndjson', 'csv', 'json'])
      await m(`export ${format}`, () => memory.export(People, join(scratch, `people.${format}`)), {
        rss: true,
      });
    await m('restore()', () => memory.restore(backup));
    for (const format of ['ndjson', 'csv', 'json'])
      await m(`import ${format}`, () => memory.import(People, join(scratch, `people.${format}`)));
    await m('update(query) of half', () => people.update({ active: true }, { label: 'x' }));
    await m('deleteMany of half', () => people.deleteMany({ active: true }));
    await people.writeMany(records.filter((r) => r.active));
    await m('close() (final snapshot)', () => app.close());
    await m(`recovery of ${count.toLocaleString('en')} at start-up`, async () => {
      ({ app, people } = await boot({ dir, fsync: 'everysec' }));
      if (people.size !== count) throw new Error(`recovered ${people.size}`);
    });
    await app.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const suite = new Suite();
  suite.section('persistence', `node ${process.version}, ${new Date().toISOString()}`);
  await runStalls(suite);
  suite.sections.forEach(printSection);
}
