import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  RecordNotFoundError,
  Store,
  Table,
} from 'nestjs-memory-store';
import { createApp, thrownBy } from './fixtures/app.factory.js';

@Table({ name: 'settings', key: 'name' })
class Setting {
  name!: string;
  value = '';
}

@Store({ table: Setting })
class SettingsStore extends MemoryStore<Setting> {
  theme(): string {
    return this.get('theme', { value: 'dark' }).value;
  }
}

describe('getOrThrow(key) and get(key, fallback)', () => {
  let app: INestApplication;
  let settings: SettingsStore;

  beforeEach(async () => {
    app = await createApp(MemoryStoreModule.forRoot({ stores: [SettingsStore] }));
    await app.init();
    settings = app.get(SettingsStore);
    await settings.write({ name: 'lang', value: 'en' });
  });

  afterEach(() => app.close());

  it('getOrThrow returns the record, or throws RecordNotFoundError naming table and key', () => {
    expect(settings.getOrThrow('lang')).toBe(settings.get('lang'));
    const error = thrownBy(() => settings.getOrThrow('nope')) as RecordNotFoundError;
    expect(error).toBeInstanceOf(RecordNotFoundError);
    expect(error.key).toBe('nope');
    expect(error.table).toBe('settings');
    expect(error.message).toBe("No record with key 'nope' in table 'settings'");
  });

  it('get(key, fallback) returns the fallback only when there is no record', () => {
    const fallback = { name: 'lang', value: 'fr' };
    expect(settings.get('lang', fallback)).toBe(settings.get('lang'));
    expect(settings.get('nope', fallback)).toBe(fallback);
    expect(settings.get('nope', null)).toBeNull();
    expect(settings.get('nope')).toBeUndefined();
    expect(settings.theme()).toBe('dark');
  });

  it('both see a transaction’s own writes', async () => {
    await app.get(MemoryStoreService).transaction(async () => {
      await settings.write({ name: 'theme', value: 'light' });
      expect(settings.getOrThrow('theme').value).toBe('light');
      expect(settings.theme()).toBe('light');
    });
  });
});
