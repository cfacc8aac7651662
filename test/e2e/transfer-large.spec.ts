import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
  type TransferFormat,
} from 'nestjs-memory-store';
import { createApp } from './fixtures/app.factory.js';
import { removeDir, tempDir } from './fixtures/persistence-files.js';

/** Documents with a large body. */
@Table({ name: 'documents' })
class Document {
  id!: string;
  body = '';
}

@Store({ table: Document })
class DocumentsStore extends MemoryStore<Document> {}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [DocumentsStore] })] })
class DocumentsAppModule {}

/** 4,800 records of 115 KB: about 550 MB of text, past V8's longest string (about 512 MB). */
const COUNT = 4_800;
const BODY = 115_000;
const V8_MAX_STRING = 2 ** 29 - 24;

// A table larger than one JavaScript string: every transfer must stream it.
describe('a table larger than a string', () => {
  let dir: string;
  let source: INestApplication;
  let target: INestApplication;

  beforeAll(async () => {
    dir = await tempDir('large');
    source = await createApp(DocumentsAppModule);
    target = await createApp(DocumentsAppModule);
    await source.init();
    await target.init();
    const documents = source.get(DocumentsStore);
    // one body string shared by every record: the table is small in memory, large as text
    const body = 'd'.repeat(BODY - 10);
    for (let i = 0; i < COUNT; i += 100) {
      documents.dirtyWriteMany(
        Array.from({ length: 100 }, (_, j) => ({ id: `d${i + j}`, body: `${body}${i + j}` })),
      );
    }
  });

  afterAll(async () => {
    await source?.close();
    await target?.close();
    await removeDir(dir);
  });

  it.each(['ndjson', 'csv', 'json'] as TransferFormat[])(
    'exports to %s and imports back every record',
    async (format) => {
      const file = join(dir, `documents.${format}`);
      expect(await source.get(MemoryStoreService).export(DocumentsStore, file)).toBe(COUNT);
      expect((await stat(file)).size).toBeGreaterThan(V8_MAX_STRING);
      const documents = target.get(DocumentsStore);
      await documents.deleteAll();
      expect(await target.get(MemoryStoreService).import(DocumentsStore, file)).toBe(COUNT);
      expect(documents.size).toBe(COUNT);
      expect(documents.get('d4799')?.body).toBe(source.get(DocumentsStore).get('d4799')?.body);
      await removeDir(file);
    },
    300_000,
  );

  it('backs up and restores every record', async () => {
    const file = join(dir, 'all.bak');
    expect(await source.get(MemoryStoreService).backup(file)).toEqual({
      tables: 1,
      records: COUNT,
    });
    expect((await stat(file)).size).toBeGreaterThan(V8_MAX_STRING);
    const documents = target.get(DocumentsStore);
    await documents.deleteAll();
    await documents.write({ id: 'other' });
    expect(await target.get(MemoryStoreService).restore(file)).toEqual({
      tables: ['documents'],
      records: COUNT,
    });
    expect(documents.size).toBe(COUNT);
    expect(documents.get('other')).toBeUndefined();
    expect(documents.get('d123')?.body).toBe(source.get(DocumentsStore).get('d123')?.body);
  }, 300_000);
});
