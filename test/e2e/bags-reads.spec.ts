import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { BagStore, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { createApp } from './fixtures/app.factory.js';

@Table({ name: 'read_tags', key: 'post', type: 'bag', indexes: ['tag'] })
class Tag {
  post!: string;
  tag!: string;
  weight = 1;
}

@Store({ table: Tag })
class TagStore extends BagStore<Tag> {}

@Table({ name: 'read_clicks', key: 'page', type: 'duplicate_bag' })
class Click {
  page!: string;
  button = 'ok';
}

@Store({ table: Click })
class ClickStore extends BagStore<Click> {}

/** Every page of a query, following the cursors; each cursor checked as it goes. */
function allPages<T>(
  page: (after: string | undefined) => { items: T[]; next: string | undefined },
  check: (cursor: string) => void,
): T[][] {
  const pages: T[][] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const { items, next } = page(after);
    pages.push(items);
    if (next === undefined) return pages;
    check(next);
    after = next;
  }
  throw new Error('more than 100 pages');
}

/** What a cursor holds, decoded (it is base64url JSON). */
const decoded = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

describe('bag reads: get(key, fallback) and page()', () => {
  let app: INestApplication | undefined;

  async function start(): Promise<INestApplication> {
    app = await createApp(MemoryStoreModule.forRoot({ stores: [TagStore, ClickStore] }));
    await app.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('get(key, fallback) returns the fallback for a key without records, else the records', async () => {
    const tags = (await start()).get(TagStore);
    const fallback: Tag[] = [Object.assign(new Tag(), { post: 'none', tag: 'default' })];
    expect(tags.get('none', fallback)).toBe(fallback);
    expect(tags.get('none', null)).toBeNull();
    const nest = await tags.write({ post: 'p1', tag: 'nest' });
    expect(tags.get('p1', fallback)).toEqual([nest]);
    expect(tags.get('none')).toEqual([]); // without a fallback: an empty array, as before
  });

  it('page() cursors never carry the hidden row, and page through equal records of one key', async () => {
    const app = await start();
    const tags = app.get(TagStore);
    const clicks = app.get(ClickStore);
    await tags.writeMany([
      { post: 'p1', tag: 'a' },
      { post: 'p1', tag: 'b' },
      { post: 'p1', tag: 'c' },
      { post: 'p1', tag: 'd', weight: 2 },
      { post: 'p2', tag: 'a' },
    ]);
    // seven identical records under one key, and others around them
    await clicks.writeMany([
      { page: 'a' },
      ...Array.from({ length: 7 }, () => ({ page: 'home' })),
      { page: 'home', button: 'no' },
      { page: 'z' },
    ]);
    const noRow = (cursor: string) => {
      expect(decoded(cursor)).not.toContain('__row');
      expect(decoded(cursor)).not.toMatch(/"[^"]*row[^"]*"/);
    };

    const byKey = allPages((after) => tags.page({}, { limit: 2, after }), noRow);
    expect(byKey.flat()).toHaveLength(5);
    expect(new Set(byKey.flat()).size).toBe(5);
    expect(byKey.flat().map((t) => t.post)).toEqual(['p1', 'p1', 'p1', 'p1', 'p2']);

    const byWeight = allPages(
      (after) => tags.page({ post: 'p1' }, { orderBy: { weight: 'desc' }, limit: 1, after }),
      noRow,
    );
    expect(byWeight.flat().map((t) => t.tag)[0]).toBe('d');
    expect(new Set(byWeight.flat().map((t) => t.tag))).toEqual(new Set(['a', 'b', 'c', 'd']));

    for (const limit of [1, 2, 3, 10]) {
      const pages = allPages((after) => clicks.page({}, { limit, after }), noRow);
      const seen = pages.flat();
      expect(seen).toHaveLength(10); // each identical record once: none repeated, none skipped
      expect(new Set(seen).size).toBe(10);
      expect(seen.map((c) => c.page)).toEqual(['a', ...Array<string>(8).fill('home'), 'z']);
    }

    // in a bag, a record of the key deleted between pages neither repeats nor hides another
    const firstPage = tags.page({ post: 'p1' }, { limit: 2 });
    await tags.delete(firstPage.items[0]);
    const later = allPages(
      (after) => tags.page({ post: 'p1' }, { limit: 2, after: after ?? firstPage.next }),
      noRow,
    ).flat();
    expect([...firstPage.items, ...later].map((t) => t.tag).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
