import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreError, StoreInitializationError } from 'nestjs-memory-store';
import { createApp, failedStartUp } from './fixtures/app.factory.js';
import { LifecycleAppModule, type LifecycleFixture } from './fixtures/lifecycle-app.module.js';

describe('store lifecycle', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(fixture: LifecycleFixture) {
    app = await createApp(fixture.module);
    await app.init();
    return { app, store: app.get(fixture.JournalStore), reader: app.get(fixture.JournalReader) };
  }

  async function failToStart(fixture: LifecycleFixture) {
    const failed = await failedStartUp(fixture.module);
    app = failed.app;
    return { error: failed.error, store: app?.get(fixture.JournalStore) };
  }

  describe('start-up order', () => {
    it('runs beforeInit hooks in order, each awaited, then seeds, then initialState', async () => {
      const fixture = LifecycleAppModule.register('ordered');
      await start(fixture);
      expect(fixture.log).toEqual([
        'openVault(vault, eu-1): size=0',
        'function hook: size=1',
        'warmUp: size=1',
        'buildState(v2): size=3',
      ]);
    });

    it('passes tuple arguments to the hook method and the store to hook functions', async () => {
      const { store } = await start(LifecycleAppModule.register('ordered'));
      expect(store.vault).toBe('vault/eu-1');
      expect(store.log).toContain('function hook: size=1');
    });

    it('keeps what a hook wrote, alongside the seeds', async () => {
      const { store } = await start(LifecycleAppModule.register('ordered'));
      expect([...store.keys()].sort()).toEqual(['from-hook', 'seed-1', 'seed-2']);
      expect(store.get('from-hook')?.text).toBe('written by a hook');
    });

    it('sets state from an initialState tuple, called with its arguments', async () => {
      const { store } = await start(LifecycleAppModule.register('ordered'));
      expect(store.state).toEqual({ tag: 'v2', vault: 'vault/eu-1', entries: 3 });
    });

    it('sets state from an initialState function, awaited', async () => {
      const { store } = await start(LifecycleAppModule.register('state-function'));
      expect(store.state).toEqual({ entries: 2 });
    });

    it('defaults the state to { startedAt, tableName }', async () => {
      const before = Date.now();
      const { store } = await start(LifecycleAppModule.register('default-state'));
      const state = store.state as { startedAt: Date; tableName: string };
      expect(state.tableName).toBe('journal');
      expect(state.startedAt).toBeInstanceOf(Date);
      expect(state.startedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(state.startedAt.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it("is finished before the importing module's providers run onModuleInit", async () => {
      const { store, reader } = await start(LifecycleAppModule.register('ordered'));
      expect(store.isReady).toBe(true);
      expect(reader.sizeAtInit).toBe(3);
    });
  });

  describe('failures', () => {
    it('a throwing hook fails start-up with StoreInitializationError naming the store', async () => {
      const fixture = LifecycleAppModule.register('throwing-hook');
      const { error, store } = await failToStart(fixture);
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect(error).toBeInstanceOf(MemoryStoreError);
      const failure = error as StoreInitializationError;
      expect(failure.message).toContain('JournalStore');
      expect(failure.message).toContain('vault unreachable');
      expect(failure.store).toBe('JournalStore');
      expect(failure.table).toBe('journal');
      expect((failure.cause as Error).message).toBe('vault unreachable');
      // the later hook and the seeds did not run
      expect(fixture.log).toEqual(['warmUp: size=0']);
      expect(store?.size ?? 0).toBe(0);
      expect(store?.isReady ?? false).toBe(false);
    });

    it('a rejecting async hook fails start-up the same way', async () => {
      const { error } = await failToStart(LifecycleAppModule.register('rejecting-hook'));
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toContain('JournalStore');
      expect((error as Error).message).toContain('async hook failed');
    });

    it('a hook naming a missing method fails start-up naming the method', async () => {
      const { error } = await failToStart(LifecycleAppModule.register('missing-method'));
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toContain('JournalStore');
      expect((error as Error).message).toContain('noSuchMethod');
    });

    it('a beforeInit entry that is neither a tuple nor a function fails start-up naming the store and the entry', async () => {
      const fixture = LifecycleAppModule.register('null-hook');
      const { error, store } = await failToStart(fixture);
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect(error).toMatchObject({ store: 'JournalStore', table: 'journal' });
      expect((error as Error).message).toBe(
        "Store JournalStore (table 'journal') failed to start: beforeInit hook #1 must be a [methodName, args?] tuple or a function, got null",
      );
      expect(fixture.log).toEqual(['warmUp: size=0']); // the hooks before it ran
      expect(store?.isReady ?? false).toBe(false);
    });

    it('an initialState that is neither a tuple nor a function fails start-up naming the store', async () => {
      const { error } = await failToStart(LifecycleAppModule.register('string-state'));
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toBe(
        `Store JournalStore (table 'journal') failed to start: initialState must be a [methodName, args?] tuple or a function, got the string "buildState"`,
      );
    });

    it('a throwing initialState fails start-up naming the store', async () => {
      const { error, store } = await failToStart(LifecycleAppModule.register('throwing-state'));
      expect(error).toBeInstanceOf(StoreInitializationError);
      expect((error as Error).message).toContain('JournalStore');
      expect((error as Error).message).toContain('no state today');
      expect(store?.isReady ?? false).toBe(false);
    });
  });
});
