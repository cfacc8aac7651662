import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryStoreService, SeedError, type SeedFile } from 'nestjs-memory-store';
import { failedStartUp } from './fixtures/app.factory.js';
import { createApp } from './fixtures/app.factory.js';
import { Meetup, SeedAppModule, seedPath } from './fixtures/seeds-app.module.js';

describe('seed files', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function seeded(seedFile: SeedFile | SeedFile[]) {
    const fixture = SeedAppModule.register(seedFile);
    app = await createApp(fixture.module);
    await app.init();
    return app.get(fixture.MeetupStore);
  }

  it('loads a JSON array into frozen records of the table class, with defaults', async () => {
    const meetups = await seeded(seedPath('meetups.json'));
    expect([...meetups.keys()].sort()).toEqual(['m-1', 'm-2']);
    const first = meetups.get('m-1')!;
    expect(first).toBeInstanceOf(Meetup);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ title: 'NestJS night', slug: 'nest-night', seats: 10 });
    expect(meetups.get('m-2')?.seats).toBe(40);
    expect(meetups.one({ slug: 'nest-night' })).toBe(first);
  });

  it('revives the date fields the table class declares, and only those', async () => {
    const meetups = await seeded(seedPath('meetups.json'));
    const first = meetups.get('m-1')!;
    expect(first.startDate).toBeInstanceOf(Date);
    expect(first.startDate?.toISOString()).toBe('2026-03-01T18:00:00.000Z');
    expect(meetups.select({ startDate: new Date('2026-03-01T18:00:00.000Z') })).toEqual([first]);
    // a date-looking string in a field that is not a Date stays a string
    expect(meetups.get('m-2')?.title).toBe('2026-04-01T18:00:00.000Z');
    expect(meetups.get('m-2')?.startDate).toBeUndefined();
  });

  it('loads NDJSON, skipping blank lines and accepting CRLF and a last line without newline', async () => {
    const meetups = await seeded(seedPath('meetups.ndjson'));
    expect([...meetups.keys()].sort()).toEqual(['m-3', 'm-4', 'm-5']);
    expect(meetups.get('m-3')?.startDate?.toISOString()).toBe('2026-05-01T18:00:00.000Z');
    expect(meetups.get('m-4')?.slug).toBe('crlf');
    expect(meetups.get('m-5')?.seats).toBe(5);
  });

  it('loads .jsonl as NDJSON', async () => {
    const meetups = await seeded(seedPath('meetups.jsonl'));
    expect([...meetups.keys()].sort()).toEqual(['m-6', 'm-7']);
    expect(meetups.get('m-6')?.startDate).toBeInstanceOf(Date);
  });

  it('loads a .ts module exporting an array', async () => {
    const meetups = await seeded(seedPath('meetups.seed.ts'));
    expect([...meetups.keys()].sort()).toEqual(['m-8', 'm-9']);
    expect(meetups.get('m-8')?.startDate?.toISOString()).toBe('2026-07-01T18:00:00.000Z');
    expect(meetups.get('m-9')?.startDate?.toISOString()).toBe('2026-08-01T18:00:00.000Z');
  });

  it('loads a .ts module exporting a function, awaiting its result', async () => {
    const meetups = await seeded(seedPath('meetups-fn.seed.ts'));
    expect(meetups.keys()).toEqual(['m-10']);
    expect(meetups.get('m-10')?.startDate).toBeInstanceOf(Date);
  });

  it('loads several files at once', async () => {
    const meetups = await seeded([
      seedPath('meetups.json'),
      seedPath('meetups.ndjson'),
      seedPath('meetups.seed.ts'),
      seedPath('meetups-fn.seed.ts'),
    ]);
    expect(meetups.size).toBe(8);
    expect([...meetups.keys()].sort()).toEqual(
      ['m-1', 'm-10', 'm-2', 'm-3', 'm-4', 'm-5', 'm-8', 'm-9'].sort(),
    );
  });

  it('accepts a file: URL', async () => {
    const meetups = await seeded(pathToFileURL(seedPath('meetups.json')));
    expect([...meetups.keys()].sort()).toEqual(['m-1', 'm-2']);
  });

  it('accepts file: URLs and paths mixed, for modules too', async () => {
    const meetups = await seeded([
      pathToFileURL(seedPath('meetups.seed.ts')),
      seedPath('meetups.jsonl'),
    ]);
    expect([...meetups.keys()].sort()).toEqual(['m-6', 'm-7', 'm-8', 'm-9']);
  });

  it('loads the seeds again into every new application', async () => {
    const first = await seeded(seedPath('meetups.json'));
    await first.deleteAll();
    await app?.close();
    const second = await seeded(seedPath('meetups.json'));
    expect(second.size).toBe(2);
  });

  it('loads a large seed file in slices, letting the event loop run while it writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seed-large-'));
    try {
      const file = join(dir, 'many.ndjson');
      const count = 30_000;
      const lines = Array.from({ length: count }, (_, i) =>
        JSON.stringify({ code: `c${i}`, title: `meetup ${i}`, slug: `s${i}` }),
      );
      await writeFile(file, lines.join('\n'));
      const fixture = SeedAppModule.register(file);
      app = await createApp(fixture.module);
      const store = app.get(fixture.MeetupStore);
      // What other work sees of the table while the application starts: in one turn, the
      // table would go from empty to full.
      const seen = new Set<number>();
      let watching = true;
      const watch = () => {
        seen.add(store.size);
        if (watching) setImmediate(watch);
      };
      watch();
      await app.init();
      watching = false;
      expect(store.size).toBe(count);
      expect(store.one({ slug: 's29999' })?.code).toBe('c29999');
      expect([...seen].some((size) => size > 0 && size < count)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('an export as a seed file', () => {
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'seed-exports-'));
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it.each(['json', 'ndjson'] as const)(
      "seeds from the store's own %s export (its header is read, not refused)",
      async (format) => {
        const source = await seeded(seedPath('meetups.json'));
        const file = join(dir, `meetups.${format}`);
        expect(await app!.get(MemoryStoreService).export('meetups', file)).toBe(2);
        const expected = source.all();
        await app?.close();
        const copy = await seeded(file);
        expect(copy.all()).toEqual(expected);
        expect(copy.get('m-1')?.startDate).toBeInstanceOf(Date);
      },
    );

    it('refuses an export of another table with a SeedError naming both', async () => {
      const file = join(dir, 'talks.json');
      await writeFile(file, JSON.stringify({ table: 'talks', version: 1, records: [] }));
      const failed = await failedStartUp(SeedAppModule.register(file).module);
      app = failed.app;
      const error = failed.error;
      expect(error).toBeInstanceOf(SeedError);
      expect((error as SeedError).message).toContain(
        "the file is an export of table 'talks', not of 'meetups'",
      );
    });
  });
});
