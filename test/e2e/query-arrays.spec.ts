import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Index,
  match,
  MemoryStore,
  MemoryStoreModule,
  QueryError,
  Store,
  Table,
  type Query,
} from 'nestjs-memory-store';

/** Orders with tags (a multikey index) and line items (an array of documents). */
@Table({ name: 'arr_orders', key: 'id' })
class Order {
  id!: string;
  customer = '';
  @Index() tags: string[] = [];
  scores: number[] = [];
  items: { sku: string; qty: number }[] = [];
}

@Store({ table: Order })
class OrdersStore extends MemoryStore<Order> {}

describe('arrays and MongoDB idioms through a store, end to end', () => {
  let app: TestingModule;
  let orders: OrdersStore;

  beforeAll(async () => {
    app = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [OrdersStore] })],
    }).compile();
    await app.init();
    orders = app.get(OrdersStore);
    await orders.writeMany([
      {
        id: 'o1',
        customer: 'Ada',
        tags: ['gift', 'rush'],
        scores: [1, 9],
        items: [
          { sku: 'p1', qty: 2 },
          { sku: 'p2', qty: 0 },
        ],
      },
      { id: 'o2', customer: 'adam', tags: ['rush'], scores: [5], items: [{ sku: 'p2', qty: 5 }] },
      { id: 'o3', customer: 'Bob', tags: [], scores: [], items: [] },
    ]);
  });

  afterAll(async () => {
    await app.close();
  });

  const ids = (query: Query<Order>) =>
    orders
      .select(query)
      .map((o) => o.id)
      .sort();

  it('matches an element of an array, in every query form, with the multikey index', () => {
    expect(ids({ tags: 'rush' })).toEqual(['o1', 'o2']);
    expect(ids(match`tags == ${'gift'}`)).toEqual(['o1']);
    expect(ids([['tags', '==', 'rush']])).toEqual(['o1', 'o2']);
    expect(ids({ tags: { $in: ['gift', 'none'] } })).toEqual(['o1']);
    expect(orders.explain({ tags: 'rush' })).toMatchObject({
      strategy: 'index lookup',
      field: 'tags',
      returnedRows: 2,
    });
  });

  it('never returns an array holding the value for $ne or $nin', () => {
    expect(ids({ tags: { $ne: 'rush' } })).toEqual(['o3']);
    expect(ids({ tags: { $nin: ['gift'] } })).toEqual(['o2', 'o3']);
    expect(ids(match`tags != ${'rush'}`)).toEqual(['o3']);
  });

  it('answers $all, $size, $elemMatch and paths through arrays of documents', () => {
    expect(ids({ tags: { $all: ['rush', 'gift'] } })).toEqual(['o1']);
    expect(ids({ tags: { $size: 0 } })).toEqual(['o3']);
    expect(ids({ scores: { $gt: 3, $lt: 4 } })).toEqual(['o1']);
    expect(ids({ scores: { $elemMatch: { $gt: 3, $lt: 6 } } })).toEqual(['o2']);
    expect(ids({ items: { $elemMatch: { sku: 'p2', qty: { $gt: 1 } } } })).toEqual(['o2']);
    expect(ids({ 'items.sku': 'p2', 'items.qty': { $gt: 1 } })).toEqual(['o1', 'o2']);
  });

  it("answers MongoDB's everyday idioms and refuses what MongoDB refuses", () => {
    expect(ids({ customer: /^ad/i })).toEqual(['o1', 'o2']);
    expect(ids({ $or: [{ customer: /^b/i }, { tags: 'gift' }] })).toEqual(['o1', 'o3']);
    expect(ids({ customer: { $in: [/^B/, 'adam'] } })).toEqual(['o2', 'o3']);
    expect(ids({ customer: { $regex: /^a/, $options: 'i' } })).toEqual(['o1', 'o2']);
    expect(ids({ customer: { $regex: '^ a d a  # ada, then m\n m', $options: 'x' } })).toEqual([
      'o2',
    ]);
    expect(ids({ customer: { $exists: 1 } })).toEqual(['o1', 'o2', 'o3']);
    expect(() => orders.select({ tags: { $size: -1 } })).toThrow(QueryError);
    expect(() => orders.select({ customer: { $regex: /a/i, $options: 'm' } })).toThrow(QueryError);
  });

  it('keeps the multikey index in step with writes', async () => {
    await orders.update('o2', { tags: ['gift'] });
    expect(ids({ tags: 'rush' })).toEqual(['o1']);
    expect(ids({ tags: 'gift' })).toEqual(['o1', 'o2']);
    await orders.delete('o1');
    expect(ids({ tags: 'gift' })).toEqual(['o2']);
  });

  it('answers a path through an array of documents from an index on that dotted path', async () => {
    @Table({ name: 'arr_carts', key: 'id', indexes: ['items.sku', 'items.tags'] })
    class Cart {
      id!: string;
      items: { sku: string; tags?: string[] }[] = [];
    }
    @Store({ table: Cart })
    class CartsStore extends MemoryStore<Cart> {}
    const moduleRef = await Test.createTestingModule({
      imports: [MemoryStoreModule.forRoot({ stores: [CartsStore] })],
    }).compile();
    await moduleRef.init();
    try {
      const carts = moduleRef.get(CartsStore);
      await carts.writeMany([
        { id: 'c1', items: [{ sku: 'x', tags: ['red'] }, { sku: 'y' }] },
        { id: 'c2', items: [{ sku: 'y', tags: ['blue', 'red'] }] },
        { id: 'c3', items: [] },
      ]);
      const cartIds = (query: Query<Cart>) =>
        carts
          .select(query)
          .map((c) => c.id)
          .sort();
      expect(carts.explain({ 'items.sku': 'x' }).strategy).toBe('index lookup');
      expect(cartIds({ 'items.sku': 'x' })).toEqual(['c1']);
      expect(cartIds({ 'items.sku': 'y' })).toEqual(['c1', 'c2']);
      expect(cartIds({ 'items.sku': { $in: ['x', 'z'] } })).toEqual(['c1']);
      expect(cartIds({ 'items.tags': 'red' })).toEqual(['c1', 'c2']);
      await carts.update('c2', { $set: { 'items.0.sku': 'z' } });
      expect(cartIds({ 'items.sku': 'y' })).toEqual(['c1']);
      expect(cartIds({ 'items.sku': 'z' })).toEqual(['c2']);
    } finally {
      await moduleRef.close();
    }
  });
});
