import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { pathToFileURL } from 'node:url';
import { MemoryStoreError, SeedError, type SeedFile } from 'nestjs-memory-store';
import { failedStartUp } from './fixtures/app.factory.js';
import { writeBadSeeds, type BadSeedsDir } from './fixtures/bad-seeds.js';
import { SeedAppModule, seedPath } from './fixtures/seeds-app.module.js';

describe('bad seed files fail start-up with SeedError', () => {
  let app: INestApplication | undefined;
  let seeds: BadSeedsDir;

  beforeAll(async () => {
    seeds = await writeBadSeeds();
  });

  afterAll(async () => {
    await seeds.remove();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /**
   * Boots an app seeded from `seedFile`, expecting start-up to fail; returns the error and
   * what is left of the store: its records, if the application got as far as creating it.
   */
  async function failToSeed(
    seedFile: SeedFile | SeedFile[],
    beforeInit?: Parameters<typeof SeedAppModule.register>[1],
  ) {
    const fixture = SeedAppModule.register(seedFile, beforeInit);
    const failed = await failedStartUp(fixture.module);
    app = failed.app;
    const store = app?.get(fixture.MeetupStore);
    const left = {
      size: store?.size ?? 0,
      exists: (code: string) => store?.exists(code) ?? false,
      one: (query: Parameters<NonNullable<typeof store>['one']>[0]) => store?.one(query),
    };
    return { error: failed.error as SeedError, store: left };
  }

  it('malformed JSON: names the file', async () => {
    const { error, store } = await failToSeed(seeds.path('malformed.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect(error.file).toBe(seeds.path('malformed.json'));
    expect(error.table).toBe('meetups');
    expect(error.message).toContain('malformed.json');
    expect(store.size).toBe(0);
  });

  it('JSON that is not an array: names the file', async () => {
    const { error, store } = await failToSeed(seeds.path('not-array.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('not-array.json'));
    expect(error.message).toMatch(/array/);
    expect(store.size).toBe(0);
  });

  it('a malformed NDJSON line: names the file, the line and the entry', async () => {
    const { error, store } = await failToSeed(seeds.path('malformed.ndjson'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('malformed.ndjson'));
    expect(error.line).toBe(4);
    expect(error.entry).toBe(2);
    expect(error.message).toContain('line 4');
    expect(store.size).toBe(0);
  });

  it('an invalid entry in JSON: names the file and the entry index, with the cause', async () => {
    const { error, store } = await failToSeed(seeds.path('invalid-entry.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('invalid-entry.json'));
    expect(error.entry).toBe(1);
    expect(error.message).toContain('entry 1');
    expect(error.message).toContain('title');
    expect(error.cause).toBeInstanceOf(MemoryStoreError);
    expect(store.size).toBe(0);
  });

  it('an invalid entry in NDJSON: names the entry and its line', async () => {
    const { error } = await failToSeed(seeds.path('invalid-entry.ndjson'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.entry).toBe(1);
    expect(error.line).toBe(3);
  });

  it('an entry whose declared date does not parse is invalid', async () => {
    const { error, store } = await failToSeed(seeds.path('invalid-date.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.entry).toBe(0);
    expect(store.size).toBe(0);
  });

  it('an entry without a primary key is invalid', async () => {
    const { error } = await failToSeed(seeds.path('missing-key.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.entry).toBe(1);
  });

  it('a unique clash between entries: names the clashing entry', async () => {
    const { error, store } = await failToSeed(seeds.path('unique-clash.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('unique-clash.json'));
    expect(error.entry).toBe(2);
    expect(error.message).toContain('taken');
    expect(store.size).toBe(0);
    expect(store.one({ slug: 'taken' })).toBeUndefined();
  });

  it('a unique clash across files: names the later file and its entry', async () => {
    const { error, store } = await failToSeed([
      seedPath('meetups.json'),
      seeds.path('clash-with-meetups.json'),
    ]);
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('clash-with-meetups.json'));
    expect(error.entry).toBe(1);
    expect(store.size).toBe(0);
  });

  it('a seed clashing with a record a beforeInit hook wrote: names the seed entry', async () => {
    const { error, store } = await failToSeed(seedPath('meetups.json'), [
      (store) => store.write({ code: 'h-1', title: 'from the hook', slug: 'nest-night' }),
    ]);
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seedPath('meetups.json'));
    expect(error.entry).toBe(0);
    expect(store.exists('m-1')).toBe(false);
    expect(store.exists('m-2')).toBe(false);
  });

  it('two entries with the same primary key: names the later entry', async () => {
    const { error, store } = await failToSeed(seeds.path('duplicate-key.json'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('duplicate-key.json'));
    expect(error.entry).toBe(2);
    expect(store.size).toBe(0);
  });

  it('a missing file: names the file', async () => {
    const missing = seeds.path('does-not-exist.json');
    const { error, store } = await failToSeed(missing);
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(missing);
    expect(error.entry).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('a missing file given as a file: URL: names the file', async () => {
    const missing = seeds.path('does-not-exist.ndjson');
    const { error } = await failToSeed(pathToFileURL(missing));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(missing);
  });

  it('a missing seed module: names the file', async () => {
    const missing = seeds.path('does-not-exist.seed.ts');
    const { error } = await failToSeed(missing);
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(missing);
  });

  it('a seed module that exports no array: names the file', async () => {
    const file = seedPath('bad/not-an-array.seed.ts');
    const { error } = await failToSeed(file);
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(file);
  });

  it('an unsupported extension: names the file', async () => {
    const { error, store } = await failToSeed(seeds.path('meetups.yaml'));
    expect(error).toBeInstanceOf(SeedError);
    expect(error.file).toBe(seeds.path('meetups.yaml'));
    expect(error.message).toContain('.yaml');
    expect(store.size).toBe(0);
  });

  it.each([
    ['malformed JSON', 'malformed.json', undefined],
    ['an invalid entry', 'invalid-entry.json', 1],
    ['a malformed NDJSON line', 'malformed.ndjson', 2],
    ['a missing file', 'does-not-exist.json', undefined],
  ])(
    'several files, the second with %s: names that file and loads none of them',
    async (_, bad, entry) => {
      const { error, store } = await failToSeed([seeds.path('good.json'), seeds.path(bad)]);
      expect(error).toBeInstanceOf(SeedError);
      expect(error.file).toBe(seeds.path(bad));
      expect(error.entry).toBe(entry);
      expect(store.size).toBe(0);
      expect(store.exists('g-1')).toBe(false);
    },
  );
});
