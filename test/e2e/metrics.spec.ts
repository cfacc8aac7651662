import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  MemoryStore,
  MemoryStoreMetricsModule,
  MemoryStoreService,
  Store,
  Table,
  type MemoryStoreModuleOptions,
  type StoreEntry,
} from 'nestjs-memory-store';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { configureApp } from '../../sample-app/src/configure-app.js';
import { PeopleStore } from '../../sample-app/src/people/people.store.js';
import { createApp, delay } from './fixtures/app.factory.js';
import {
  BooksStore,
  OperationsAppModule,
  PagesStore,
  SlowBookListener,
} from './fixtures/operations-app.module.js';
import { dropPrefix, freshPrefix } from './fixtures/redis.js';
import { REDIS_URL } from './fixtures/replication-app.module.js';

/** A table with nothing to maintain beside its rows: no index, no capacity, no listener. */
@Table({ name: 'notes' })
class Note {
  id!: string;
  text = '';
}

@Store({ table: Note })
class NotesStore extends MemoryStore<Note> {}

/** The samples of a Prometheus text page: `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    // every sample names the meter's scope; the tests leave it out
    const name = line
      .slice(0, at)
      .replace(/,?otel_scope_name="[^"]*"/, '')
      .replace('{}', '');
    samples.set(name.replace('{,', '{'), Number(line.slice(at + 1)));
  }
  return samples;
}

/** One sample's value; fails the test naming what the page has instead when absent. */
function value(samples: Map<string, number>, name: string): number {
  const found = samples.get(name);
  if (found === undefined) {
    const like = [...samples.keys()].filter((k) => k.startsWith(name.split('_')[0]));
    throw new Error(`no sample ${name}; the page has: ${like.join(', ') || 'nothing like it'}`);
  }
  return found;
}

describe('metrics (OpenTelemetry, exported for Prometheus)', () => {
  const apps: INestApplication[] = [];
  const dirs: string[] = [];
  const prefixes: string[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    for (const prefix of prefixes.splice(0)) await dropPrefix(prefix);
  });

  /** A fixture application recording to its own meter provider; `scrape()` reads it all. */
  async function start(
    options: Omit<MemoryStoreModuleOptions, 'stores'>,
    stores: StoreEntry[] = [BooksStore],
    providers: (typeof SlowBookListener)[] = [],
    metricsOptions: { queryDurations?: boolean } = {},
  ) {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    const app = await createApp(
      OperationsAppModule.register(
        options,
        stores,
        [MemoryStoreMetricsModule.forRoot({ meterProvider, ...metricsOptions })],
        providers,
      ),
    );
    apps.push(app);
    await app.init();
    const serializer = new PrometheusSerializer();
    const scrape = async () => {
      const { resourceMetrics } = await exporter.collect();
      return parse(serializer.serialize(resourceMetrics));
    };
    return { app, scrape };
  }

  it("the sample app's GET /metrics counts records, reads, writes, deletes and queries by access path", async () => {
    process.env.DATA_DIR = mkdtempSync(join(tmpdir(), 'nms-metrics-'));
    dirs.push(process.env.DATA_DIR);
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = configureApp(moduleRef.createNestApplication({ logger: false }));
      apps.push(app);
      await app.init();
      const scrape = async () => {
        const res = await request(app.getHttpServer()).get('/metrics').expect(200);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        return parse(res.text);
      };
      const people = app.get(PeopleStore);
      const before = await scrape();
      const at = '{table="people"}';
      expect(value(before, `memory_store_records${at}`)).toBe(people.size);

      const uuid = '7d9e2c1a-3b4f-4a5e-8c6d-0e1f2a3b4c5d';
      await people.write({ uuid, email: 'metrics@example.com', department: 'sales' });
      people.get(uuid);
      people.get(uuid);
      people.select({ department: 'sales' });
      people.select({ age: { $gt: 200 } });
      await people.delete(uuid);

      const after = await scrape();
      const delta = (name: string) => value(after, name) - (before.get(name) ?? 0);
      expect(delta(`memory_store_writes_total${at}`)).toBe(1);
      expect(delta(`memory_store_reads_total${at}`)).toBe(2);
      expect(delta(`memory_store_deletes_total${at}`)).toBe(1);
      expect(delta(`memory_store_queries_total{table="people",access_path="index"}`)).toBe(1);
      expect(delta(`memory_store_queries_total{table="people",access_path="scan"}`)).toBe(1);
      expect(value(after, `memory_store_records${at}`)).toBe(people.size);
      expect(value(after, `memory_store_bytes${at}`)).toBeGreaterThan(people.size * 80);
    } finally {
      delete process.env.DATA_DIR;
    }
  });

  it('times queries per access path and counts expiries, evictions, sweeps and the event backlog', async () => {
    const { app, scrape } = await start(
      { ttl: { sweep: { everyMs: 20 } } },
      [BooksStore, PagesStore],
      [SlowBookListener],
    );
    const books = app.get(BooksStore);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    await books.write({ isbn: '2', title: 'Emma', author: 'Austen' });
    await books.write({ isbn: '3', title: 'Expired', author: 'Nobody' }, { ttl: 1 });
    books.select({ isbn: '1' });
    books.select({ author: 'Austen' });
    books.select({ author: 'Herbert' });
    books.select({ year: 0 });
    const pages = app.get(PagesStore);
    for (const url of ['/a', '/b', '/c']) await pages.write({ url, html: '<p>' });

    let samples = await scrape();
    for (
      let i = 0;
      i < 100 && samples.get('memory_store_expiries_total{table="books"}') !== 1;
      i++
    ) {
      await delay(20);
      samples = await scrape();
    }
    const books_ = '{table="books"}';
    expect(value(samples, `memory_store_expiries_total${books_}`)).toBe(1);
    expect(value(samples, `memory_store_records${books_}`)).toBe(2);
    expect(value(samples, 'memory_store_evictions_total{table="pages"}')).toBe(1);
    expect(value(samples, 'memory_store_records{table="pages"}')).toBe(2);
    for (const [path, n] of [
      ['key', 1],
      ['index', 2],
      ['scan', 1],
    ] as const) {
      const at = `{table="books",access_path="${path}"}`;
      expect(value(samples, `memory_store_queries_total${at}`)).toBe(n);
      expect(value(samples, `memory_store_query_duration_count${at}`)).toBe(n);
    }
    expect(
      value(samples, 'memory_store_sweep_duration_count{table="books"}'),
    ).toBeGreaterThanOrEqual(1);
    // the writes (and the expiry) delivered to a listener that has not finished any
    const backlog = value(samples, `memory_store_event_backlog${books_}`);
    expect(backlog).toBeGreaterThanOrEqual(3);
    const stats = app.get(MemoryStoreService).stats();
    expect(stats.find((s) => s.table === 'books')!.pendingEvents).toBe(backlog);
    app.get(SlowBookListener).release();
    await delay(10);
    expect(value(await scrape(), `memory_store_event_backlog${books_}`)).toBe(0);
  });

  it('counts queries without timing them when queryDurations is false', async () => {
    const { app, scrape } = await start({}, [BooksStore], [], { queryDurations: false });
    const books = app.get(BooksStore);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    books.select({ author: 'Herbert' });
    const samples = await scrape();
    expect(value(samples, 'memory_store_queries_total{table="books",access_path="index"}')).toBe(1);
    expect([...samples.keys()].filter((name) => name.includes('query_duration'))).toEqual([]);
  });

  it('times WAL fsyncs (latency, bytes per group) and snapshots of a persisted store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nms-metrics-'));
    dirs.push(dir);
    const { app, scrape } = await start({
      persistence: { dir, fsync: 'always', snapshotEveryBytes: 1 },
    });
    const books = app.get(BooksStore);
    const at = `{dir="${dir}"}`;
    // fsyncs while starting, before the metrics module set its recorders, were only counted
    const before = value(await scrape(), `memory_store_wal_fsyncs_total${at}`);
    for (let i = 0; i < 3; i++) await books.write({ isbn: `${i}`, title: 'T', author: 'A' });
    let samples = await scrape();
    for (let i = 0; i < 100 && !samples.get(`memory_store_snapshots_total${at}`); i++) {
      await delay(20);
      samples = await scrape();
    }
    const fsyncs = value(samples, `memory_store_wal_fsyncs_total${at}`) - before;
    expect(fsyncs).toBeGreaterThanOrEqual(3);
    expect(value(samples, `memory_store_wal_fsync_duration_count${at}`)).toBe(fsyncs);
    expect(value(samples, `memory_store_wal_fsync_bytes_count${at}`)).toBe(fsyncs);
    expect(value(samples, `memory_store_wal_fsync_bytes_sum${at}`)).toBeGreaterThan(0);
    const snapshots = value(samples, `memory_store_snapshots_total${at}`);
    expect(snapshots).toBeGreaterThanOrEqual(1);
    expect(value(samples, `memory_store_snapshot_duration_count${at}`)).toBe(snapshots);
  });

  it('counts transaction commits, conflicts and retries', async () => {
    const { app, scrape } = await start({});
    const books = app.get(BooksStore);
    const memory = app.get(MemoryStoreService);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert', year: 1965 });
    await memory.transaction(async () => {
      await books.update('1', { year: 1966 });
    });
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transaction = memory.transaction(async () => {
      const book = books.get('1')!;
      if (++runs === 1) await gate;
      await books.update('1', { year: book.year + 1 });
    });
    // while the first run waits, someone else changes what it read: it runs again
    await books.update('1', { title: 'Dune (2nd ed.)' });
    release();
    await transaction;
    expect(runs).toBe(2);
    const samples = await scrape();
    expect(value(samples, 'memory_store_transaction_commits_total')).toBe(2);
    expect(value(samples, 'memory_store_transaction_conflicts_total')).toBe(1);
    expect(value(samples, 'memory_store_transaction_retries_total')).toBe(1);
  });

  it('reports the applied replication log position, the lag and the apply latency of a replicated store', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const { app, scrape } = await start({ replication: { redis: REDIS_URL, prefix } });
    const books = app.get(BooksStore);
    await books.write({ isbn: '1', title: 'Dune', author: 'Herbert' });
    await books.write({ isbn: '2', title: 'Emma', author: 'Austen' });
    const samples = await scrape();
    expect(value(samples, 'memory_store_replication_applied_seq{table="books"}')).toBe(2);
    expect(value(samples, 'memory_store_replication_lag{table="books"}')).toBe(0);
    expect(value(samples, 'memory_store_writes_total{table="books"}')).toBe(2);

    // Another instance applies both entries from the log: from its commit in Redis to its
    // being applied there.
    const other = await start({ replication: { redis: REDIS_URL, prefix } });
    const copy = other.app.get(BooksStore);
    await books.write({ isbn: '3', title: 'Ulysses', author: 'Joyce' });
    for (let i = 0; i < 200 && copy.size < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(copy.size).toBe(3);
    const seen = await other.scrape();
    expect(value(seen, 'memory_store_replication_apply_latency_count')).toBe(1);
    const latency = value(seen, 'memory_store_replication_apply_latency_sum');
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(10); // seconds, by Redis's clock (the offset to it applied)
  });

  it('counts the writes, updates and expiries of a table with nothing to maintain', async () => {
    const { app, scrape } = await start({}, [NotesStore]);
    const notes = app.get(NotesStore);
    await notes.write({ id: 'a', text: 'one' });
    await notes.write({ id: 'a', text: 'two' }); // replaces
    notes.dirtyWrite({ id: 'b' });
    await notes.update('a', { text: 'three' });
    notes.dirtyUpdate('b', { text: 'four' });
    await notes.write({ id: 'c' }, { ttl: 1 });
    await delay(20);
    notes.sweep();
    expect(notes.size).toBe(2);
    const samples = await scrape();
    expect(value(samples, 'memory_store_writes_total{table="notes"}')).toBe(6);
    expect(value(samples, 'memory_store_expiries_total{table="notes"}')).toBe(1);
  });
});
