/**
 * Model test of bag tables through their stores' public API: random sequences of writes,
 * inserts, writeMany, deletes by key, by record (the held one, or an equal copy), by query,
 * and updates by query, on a `'bag'` and a `'duplicate_bag'`. After every step each store must
 * equal a reference `Map<key, record[]>` (records in write order), and every index (the key
 * field's and a secondary one) must answer exactly as a scan of the records does.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { BagStore, DuplicateKeyError, MemoryStoreModule, Store, Table } from 'nestjs-memory-store';
import { createApp } from '../e2e/fixtures/app.factory.js';

@Table({ name: 'model_bag', key: 'k', type: 'bag', indexes: ['color'] })
class Item {
  k!: string;
  color = 'red';
  n = 0;
}

@Table({ name: 'model_duplicate_bag', key: 'k', type: 'duplicate_bag', indexes: ['color'] })
class DupItem {
  k!: string;
  color = 'red';
  n = 0;
}

@Store({ table: Item })
class ItemStore extends BagStore<Item> {}

@Store({ table: DupItem })
class DupItemStore extends BagStore<DupItem> {}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [ItemStore, DupItemStore] })] })
class BagModelAppModule {}

interface Fields {
  k: string;
  color: string;
  n: number;
}

const KEYS = ['a', 'b', 'c'];
const COLORS = ['red', 'blue'];

type Command =
  | { t: 'write'; f: Fields }
  | { t: 'insert'; f: Fields }
  | { t: 'writeMany'; fs: Fields[] }
  | { t: 'deleteKey'; k: string }
  | { t: 'deleteHeld'; k: string; i: number }
  | { t: 'deleteEqual'; f: Fields }
  | { t: 'deleteColor'; color: string }
  | { t: 'recolor'; k: string; from: string; to: string };

const fieldsArb: fc.Arbitrary<Fields> = fc.record({
  k: fc.constantFrom(...KEYS),
  color: fc.constantFrom(...COLORS),
  n: fc.integer({ min: 0, max: 2 }),
});
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('write' as const), f: fieldsArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('insert' as const), f: fieldsArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('writeMany' as const),
      fs: fc.array(fieldsArb, { maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('deleteKey' as const), k: fc.constantFrom(...KEYS) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('deleteHeld' as const),
      k: fc.constantFrom(...KEYS),
      i: fc.nat(3),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deleteEqual' as const), f: fieldsArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('deleteColor' as const),
      color: fc.constantFrom(...COLORS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('recolor' as const),
      k: fc.constantFrom(...KEYS),
      from: fc.constantFrom(...COLORS),
      to: fc.constantFrom(...COLORS),
    }),
  },
);

const same = (a: Fields, b: Fields) => a.k === b.k && a.color === b.color && a.n === b.n;
const plain = (r: Fields): Fields => ({ k: r.k, color: r.color, n: r.n });
/** Records as a multiset: an index answers in its own order. */
const sorted = (records: readonly Fields[]): string[] =>
  records.map((r) => JSON.stringify(plain(r))).sort();

/** The reference: each key's records in the order they were written. */
class Model {
  readonly byKey = new Map<string, Fields[]>();
  constructor(readonly distinct: boolean) {}

  of(k: string): Fields[] {
    return this.byKey.get(k) ?? [];
  }
  #set(k: string, records: Fields[]): void {
    if (records.length === 0) this.byKey.delete(k);
    else this.byKey.set(k, records);
  }
  write(f: Fields): void {
    if (this.distinct && this.of(f.k).some((r) => same(r, f))) return;
    this.#set(f.k, [...this.of(f.k), f]);
  }
  /** False when the store must refuse the insert (the key holds records). */
  insert(f: Fields): boolean {
    if (this.of(f.k).length > 0) return false;
    this.write(f);
    return true;
  }
  deleteAt(k: string, i: number): void {
    this.#set(
      k,
      this.of(k).filter((_, j) => j !== i),
    );
  }
  deleteEqual(f: Fields): void {
    const i = this.of(f.k).findIndex((r) => same(r, f));
    if (i >= 0) this.deleteAt(f.k, i);
  }
  deleteColor(color: string): void {
    for (const k of [...this.byKey.keys()])
      this.#set(
        k,
        this.of(k).filter((r) => r.color !== color),
      );
  }
  /** False when the store must refuse the update (a bag would hold two equal records). */
  recolor(k: string, from: string, to: string): boolean {
    const next = this.of(k).map((r) => (r.color === from ? { ...r, color: to } : r));
    if (this.distinct && next.some((r, i) => next.findIndex((o) => same(o, r)) !== i)) return false;
    this.#set(k, next);
    return true;
  }
}

describe('bag tables against a model Map<key, record[]>', () => {
  let app: INestApplication;
  let bag: ItemStore;
  let dup: DupItemStore;

  beforeAll(async () => {
    app = await createApp(BagModelAppModule);
    await app.init();
    bag = app.get(ItemStore);
    dup = app.get(DupItemStore);
  });

  afterAll(async () => {
    await app.close();
  });

  async function step(
    store: BagStore<Item> | BagStore<DupItem>,
    model: Model,
    c: Command,
  ): Promise<void> {
    const s = store as BagStore<Item>;
    switch (c.t) {
      case 'write':
        await s.write(c.f);
        model.write(c.f);
        break;
      case 'insert': {
        const allowed = model.insert(c.f);
        if (allowed) await s.insert(c.f);
        else await expect(s.insert(c.f)).rejects.toBeInstanceOf(DuplicateKeyError);
        break;
      }
      case 'writeMany':
        await s.writeMany(c.fs);
        for (const f of c.fs) model.write(f);
        break;
      case 'deleteKey':
        expect((await s.delete(c.k)).map(plain)).toEqual(model.of(c.k));
        model.byKey.delete(c.k);
        break;
      case 'deleteHeld': {
        const held = s.get(c.k)[c.i];
        if (held === undefined) break;
        expect(await s.delete(held)).toBe(held);
        model.deleteAt(c.k, c.i);
        break;
      }
      case 'deleteEqual':
        await s.delete(Object.assign(new Item(), c.f));
        model.deleteEqual(c.f);
        break;
      case 'deleteColor':
        await s.delete({ color: c.color });
        model.deleteColor(c.color);
        break;
      case 'recolor': {
        const query = { k: c.k, color: c.from };
        if (model.recolor(c.k, c.from, c.to)) await s.update(query, { color: c.to });
        else
          await expect(s.update(query, { color: c.to })).rejects.toBeInstanceOf(DuplicateKeyError);
        break;
      }
    }
  }

  function check(store: BagStore<Item> | BagStore<DupItem>, model: Model): void {
    const s = store as BagStore<Item>;
    const all = s.all().map(plain);
    let total = 0;
    for (const k of KEYS) {
      // the order within a key is the write order, which an update keeps
      expect(s.get(k).map(plain)).toEqual(model.of(k));
      expect(s.exists(k)).toBe(model.of(k).length > 0);
      expect(s.count({ k })).toBe(model.of(k).length);
      total += model.of(k).length;
      for (const color of COLORS) {
        // index answers (key field, secondary, both) equal a scan of every record
        const scan = all.filter((r) => r.k === k && r.color === color);
        expect(sorted(s.select({ k, color }))).toEqual(sorted(scan));
      }
    }
    for (const color of COLORS)
      expect(sorted(s.select({ color }))).toEqual(sorted(all.filter((r) => r.color === color)));
    expect(s.size).toBe(total);
    expect(new Set(s.keys())).toEqual(new Set(model.byKey.keys()));
  }

  it('a bag and a duplicate_bag equal the model after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { maxLength: 30 }), async (commands) => {
        await bag.deleteAll();
        await dup.deleteAll();
        const models = [new Model(true), new Model(false)];
        const stores = [bag, dup] as const;
        for (const c of commands) {
          for (let i = 0; i < 2; i++) {
            await step(stores[i], models[i], c);
            check(stores[i], models[i]);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
