import 'reflect-metadata';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BagStore,
  InjectStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
} from 'nestjs-memory-store';
import { createApp } from './fixtures/app.factory.js';

/** Bag tables through files: seeds, export/import, backup/restore, and a crash's log. */

@Table({ name: 'visits', key: 'page', type: 'duplicate_bag', indexes: ['user'] })
class Visit {
  page!: string;
  user = 'anonymous';
  n = 0;
}

@Store({ table: Visit })
class VisitStore extends BagStore<Visit> {}

@Table({ name: 'labels', key: 'item', type: 'bag' })
class Label {
  item!: string;
  text!: string;
}

@Injectable()
class LabelsService {
  constructor(@InjectStore(Label) readonly labels: BagStore<Label>) {}
}

@Module({ imports: [MemoryStoreModule.forFeature([Label])], providers: [LabelsService] })
class LabelsModule {}

describe('bag tables and files', () => {
  const running: INestApplication[] = [];
  const dirs: string[] = [];

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'bags-files-'));
    dirs.push(dir);
    return dir;
  }

  async function start(options: object = {}, stores: unknown[] = [VisitStore]) {
    const app = await createApp(MemoryStoreModule.forRoot({ stores, ...options } as never));
    running.push(app);
    await app.init();
    return app;
  }

  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
  });

  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const visits = (app: INestApplication) => app.get(VisitStore);
  const rows = (store: VisitStore) => store.all().map((v) => ({ ...v }));

  it('gives a bare bag table in forFeature a BagStore', async () => {
    @Module({ imports: [MemoryStoreModule.forRoot({ stores: [] }), LabelsModule] })
    class AppModule {}
    const app = await createApp(AppModule);
    running.push(app);
    await app.init();
    const { labels } = app.get(LabelsService);
    expect(labels).toBeInstanceOf(BagStore);
    await labels.write({ item: 'i1', text: 'red' });
    await labels.write({ item: 'i1', text: 'red' });
    await labels.write({ item: 'i1', text: 'big' });
    expect(labels.get('i1').map((l) => l.text)).toEqual(['red', 'big']);
  });

  it('seeds many records per key, equal ones too', async () => {
    const dir = await tempDir();
    const seedFile = join(dir, 'visits.json');
    await writeFile(
      seedFile,
      JSON.stringify([{ page: 'home' }, { page: 'home' }, { page: 'home', user: 'ada' }]),
    );
    @Store({ table: Visit, seedFile })
    class SeededVisits extends BagStore<Visit> {}
    const app = await start({}, [SeededVisits]);
    expect(
      app
        .get(SeededVisits)
        .get('home')
        .map((v) => v.user),
    ).toEqual(['anonymous', 'anonymous', 'ada']);
  });

  it.each(['json', 'ndjson', 'csv'] as const)(
    'exports and imports the records of a bag (%s), without the hidden row',
    async (format) => {
      const dir = await tempDir();
      const app = await start();
      const store = visits(app);
      await store.writeMany([{ page: 'a' }, { page: 'a' }, { page: 'b', user: 'ada', n: 2 }]);
      const before = rows(store);
      const memory = app.get(MemoryStoreService);
      const file = join(dir, `visits.${format}`);
      await memory.export(VisitStore, file, format);
      expect(await readFile(file, 'utf8')).not.toContain('__row');
      await store.deleteAll();
      await memory.import(VisitStore, file, format);
      expect(rows(store)).toEqual(before);
    },
  );

  it('backs up and restores a bag exactly, and goes on adding rows', async () => {
    const dir = await tempDir();
    const app = await start();
    const store = visits(app);
    await store.writeMany([{ page: 'a' }, { page: 'a' }, { page: 'b' }]);
    await store.delete(store.get('a')[0]);
    const before = rows(store);
    const memory = app.get(MemoryStoreService);
    await memory.backup(join(dir, 'all.backup'));
    await store.writeMany([{ page: 'a', n: 9 }, { page: 'c' }]);
    await memory.restore(join(dir, 'all.backup'));
    expect(rows(store)).toEqual(before);
    await store.write({ page: 'a', n: 1 });
    expect(store.get('a').map((v) => v.n)).toEqual([0, 1]);
  });

  it('recovers from the log alone, as after a crash (no closing snapshot)', async () => {
    const dir = await tempDir();
    const image = await tempDir();
    const app = await start({ persistence: { dir, fsync: 'always' } });
    const store = visits(app);
    await store.writeMany([{ page: 'a' }, { page: 'a' }, { page: 'b', user: 'x' }]);
    await store.delete(store.get('a')[1]);
    await store.update({ page: 'b' }, { n: 3 });
    await store.write({ page: 'a', user: 'y' }, { ttl: 60_000 });
    const before = rows(store);
    // the directory as a crash leaves it: every acknowledged write is in the log
    await cp(dir, image, { recursive: true, filter: (path) => !path.endsWith('/lock') });
    const recovered = visits(await start({ persistence: { dir: image, fsync: 'always' } }));
    expect(rows(recovered)).toEqual(before);
    expect(recovered.ttl(recovered.get('a')[1])).toBeGreaterThan(50_000);
    await recovered.write({ page: 'a' });
    expect(recovered.get('a')).toHaveLength(3);
  });
});
