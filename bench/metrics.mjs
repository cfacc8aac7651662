// The "metrics" section (issue 17): get, write and an indexed select on a store, without
// MemoryStoreMetricsModule, with it but no meter provider registered (the OpenTelemetry
// API's no-op), and with it recording to an SDK MeterProvider read by the Prometheus
// exporter (collected once at the end, as a scrape would).

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MemoryStoreMetricsModule, MemoryStoreModule } from 'nestjs-memory-store';
import { compileLoop } from './table.mjs';
import { makeRecords, makeReplacements, RECORD_COUNT, shuffledKeys } from './data.mjs';
import { IndexedPeopleStore } from './stores.mjs';
import { entry } from './suite.mjs';

const N = RECORD_COUNT;

/** An application context with the indexed people store and the given extra modules. */
async function boot(imports) {
  class MetricsBenchModule {}
  Module({
    imports: [MemoryStoreModule.forRoot({ stores: [IndexedPeopleStore] }), ...imports],
  })(MetricsBenchModule);
  const app = await NestFactory.createApplicationContext(MetricsBenchModule, { logger: false });
  return { app, store: app.get(IndexedPeopleStore) };
}

/** A select of one department through its index (10 departments: 10,000 matches each). */
const DEPARTMENTS = Array.from({ length: 10 }, (_, i) => `d${i}`);

export async function runMetrics(suite) {
  suite.section(
    'metrics',
    `issue 17: the cost of metrics on get, write and select (${N.toLocaleString('en-US')} records)`,
  );
  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const byId = new Map(makeReplacements(records).map((r) => [r.id, r]));
  const repl = keys.map((k) => byId.get(k));

  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const setups = [
    { label: 'no metrics module', imports: [] },
    { label: 'metrics module, no meter provider', imports: [MemoryStoreMetricsModule.forRoot()] },
    {
      label: 'metrics module, SDK MeterProvider',
      imports: [MemoryStoreMetricsModule.forRoot({ meterProvider })],
    },
  ];
  suite.progress('booting three applications and loading their stores...');
  const apps = [];
  for (const setup of setups) {
    const { app, store } = await boot(setup.imports);
    await store.writeMany(records);
    apps.push({ ...setup, app, store });
  }

  const groups = {
    get: suite.group('get by key', { comment: 'ratio = baseline time / this time (1.00 = same)' }),
    write: suite.group('dirtyWrite: replace an existing record'),
    select: suite.group('select { department } through its index, limit 10'),
  };
  const batch = [];
  apps.forEach(({ label, store }, i) => {
    const baseline = i === 0;
    const loop = (what, op, inputs, fold) =>
      compileLoop(`metrics ${what}: ${label}`, op, inputs, { fold });
    const get = loop('get', (k) => store.get(k).age, keys, true);
    const write = loop('write', (r) => store.dirtyWrite(r), repl, false);
    const select = loop(
      'select',
      (d) => store.select({ department: d }, { limit: 10 }).length,
      DEPARTMENTS,
      true,
    );
    batch.push(entry(groups.get, label, get, { baseline }));
    batch.push(entry(groups.write, label, write, { baseline }));
    batch.push(entry(groups.select, label, select, { baseline }));
  });
  const results = await suite.measure(batch);

  const { resourceMetrics } = await exporter.collect();
  const names = resourceMetrics.scopeMetrics.flatMap((s) =>
    s.metrics.map((m) => m.descriptor.name),
  );
  suite.check(
    names.includes('memory_store.reads'),
    'the SDK MeterProvider collected no memory_store.reads',
  );
  for (const { app } of apps) await app.close();
  await meterProvider.shutdown();
  return results;
}
