import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ImportError,
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
  type PersistenceFileSystem,
  NODE_FILE_SYSTEM,
} from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';

@Table({ name: 'items' })
class Item {
  id!: string;
}

@Store({ table: Item })
class ItemsStore extends MemoryStore<Item> {}

/** The real file system behind the module's `fileSystem` option (another read path). */
const GIVEN_FILE_SYSTEM: PersistenceFileSystem = { ...NODE_FILE_SYSTEM };

describe('a missing file: ImportError with the ENOENT error as cause', () => {
  let folder: string;
  let app: INestApplication | undefined;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'newcomer-import-'));
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await rm(folder, { recursive: true, force: true });
  });

  async function memory(fileSystem?: PersistenceFileSystem): Promise<MemoryStoreService> {
    const persistence = fileSystem ? { persistence: { dir: folder, fileSystem } } : {};
    app = await createApp(MemoryStoreModule.forRoot({ stores: [ItemsStore], ...persistence }));
    await app.init();
    return app.get(MemoryStoreService);
  }

  for (const [how, fileSystem] of [
    ['the real file system', undefined],
    ['a file system given to the module', GIVEN_FILE_SYSTEM],
  ] as const) {
    it(`import() and restore() keep the system error (${how})`, async () => {
      const service = await memory(fileSystem);
      const missing = join(folder, 'missing.json');
      const imported = (await rejectionOf(service.import(Item, missing))) as ImportError;
      expect(imported).toBeInstanceOf(ImportError);
      expect(imported.message).toBe(
        `Cannot import ${missing} into table 'items': the file does not exist`,
      );
      expect((imported.cause as Error).message).toBe(
        `ENOENT: no such file or directory, open '${missing}'`,
      );
      expect(imported.cause).toMatchObject({ code: 'ENOENT', syscall: 'open', path: missing });

      const backup = join(folder, 'missing.bak');
      const restored = (await rejectionOf(service.restore(backup))) as ImportError;
      expect(restored.message).toBe(`Cannot restore ${backup}: the file does not exist`);
      expect(restored.operation).toBe('restore');
      expect(restored.cause).toMatchObject({ code: 'ENOENT', syscall: 'open', path: backup });
    });
  }
});
