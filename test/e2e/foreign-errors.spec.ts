import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { runInNewContext } from 'node:vm';
import {
  MemoryStore,
  MemoryStoreModule,
  OnStoreEvent,
  Store,
  StoreInitializationError,
  Table,
} from 'nestjs-memory-store';
import { failedStartUp } from './fixtures/app.factory.js';
import { RecordingLogger } from './fixtures/recording-logger.js';

/**
 * An error made in another realm (a `vm` context, as jest runs tests in; a sandboxed script)
 * is no `instanceof Error` here: its message must still be told, not "an instance of Error".
 */
const foreignError = (message: string): unknown =>
  runInNewContext(`new Error(${JSON.stringify(message)})`);

@Table({ name: 'notes' })
class Note {
  id!: string;
}

@Store({ table: Note })
class NotesStore extends MemoryStore<Note> {}

/** A listener whose side effect fails with an error of another realm. */
@Injectable()
class MailerListener {
  @OnStoreEvent(NotesStore)
  onChange(): void {
    throw foreignError('the mailer refused');
  }
}

@Table({ name: 'hooked' })
class Hooked {
  id!: string;
}

@Store({
  table: Hooked,
  beforeInit: [
    () => {
      throw foreignError('the quota service is down');
    },
  ],
})
class HookedStore extends MemoryStore<Hooked> {}

describe('errors from another realm', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('are no instanceof Error here (what the stores must not rely on)', () => {
    expect(foreignError('x') instanceof Error).toBe(false);
  });

  it('a start-up hook that throws one fails start-up with its message', async () => {
    const { error, app: failed } = await failedStartUp(
      MemoryStoreModule.forRoot({ stores: [HookedStore] }),
    );
    app = failed;
    expect(error).toBeInstanceOf(StoreInitializationError);
    expect((error as Error).message).toBe(
      "Store HookedStore (table 'hooked') failed to start: beforeInit hook #0 failed: the quota service is down",
    );
  });

  it('a store listener that throws one is logged with its message', async () => {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [NotesStore] })],
      providers: [MailerListener],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    const notes = app.get(NotesStore);
    await notes.write({ id: 'n1' });
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));

    const failed = logger.at('error').filter((l) => l.message.includes('failed on insert'));
    expect(failed).toHaveLength(1);
    expect(failed[0].message).toMatch(/: the mailer refused$/);
  });
});
