/**
 * Type tests for update operators and deep merges. Never run: `tsc -p tsconfig.json`
 * type-checks it, so every line without a directive must compile and every line marked
 * `@ts-expect-error` must fail to (an unused directive is itself an error).
 */
import { MemoryStore, type UpdateOperators, type UpdatePath } from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

interface Line {
  sku: string;
  qty: number;
}

class Order {
  id!: string;
  visits = 0;
  total?: number;
  owner?: string;
  placed = new Date();
  tags: string[] = [];
  lines: Line[] = [];
  profile = { lang: 'en', theme: 'dark', address: { city: 'Lyon' } };

  describe(): string {
    return this.id;
  }
}

class OrdersStore extends MemoryStore<Order> {}

export async function operators(orders: OrdersStore): Promise<void> {
  await orders.update('o1', { $inc: { visits: 1, total: 2.5, 'lines.0.qty': 1 } });
  await orders.update('o1', { $mul: { total: 2 } });
  await orders.update('o1', { $set: { 'profile.lang': 'fr', 'profile.address.city': 'Paris' } });
  await orders.update('o1', { $set: { 'lines.1': { sku: 'b', qty: 2 }, owner: null } });
  await orders.update('o1', { $unset: { owner: true, 'profile.theme': 1 } });
  await orders.update('o1', { $min: { placed: new Date(0) }, $max: { visits: 9 } });
  await orders.update('o1', { $push: { tags: 'x' } });
  await orders.update('o1', { $push: { lines: { $each: [{ sku: 'c', qty: 1 }], $slice: -10 } } });
  await orders.update('o1', { $addToSet: { tags: { $each: ['a', 'b'] } } });
  await orders.update('o1', { $pull: { tags: 'x', lines: { qty: { $lte: 0 } } } });
  await orders.update('o1', { $rename: { owner: 'profile.lang' } });
  await orders.update({ visits: 0 }, { $inc: { visits: 1 } });
  orders.dirtyUpdate('o1', { $inc: { visits: 1 } });
  await orders.update('o1', (order) => ({ $set: { visits: order.visits + 1 } }));

  // @ts-expect-error a misspelt path
  await orders.update('o1', { $inc: { visitz: 1 } });
  // @ts-expect-error $inc takes only numeric paths
  await orders.update('o1', { $inc: { owner: 1 } });
  // @ts-expect-error $inc takes numbers
  await orders.update('o1', { $inc: { visits: '1' } });
  // @ts-expect-error a misspelt nested path
  await orders.update('o1', { $set: { 'profile.langg': 'fr' } });
  // @ts-expect-error $set takes the value type at its path
  await orders.update('o1', { $set: { 'profile.lang': 3 } });
  // @ts-expect-error the element of lines has no field price
  await orders.update('o1', { $set: { 'lines.0.price': 3 } });
  // @ts-expect-error $push takes only array paths
  await orders.update('o1', { $push: { owner: 'x' } });
  // @ts-expect-error $push takes the element type
  await orders.update('o1', { $push: { tags: 1 } });
  // @ts-expect-error $each holds elements
  await orders.update('o1', { $push: { lines: { $each: ['x'] } } });
  // @ts-expect-error $min compares numbers, strings, booleans and dates
  await orders.update('o1', { $min: { lines: [] } });
  // @ts-expect-error $rename moves to a path of the record
  await orders.update('o1', { $rename: { owner: 'ownr' } });
  // @ts-expect-error an unknown operator
  await orders.update('o1', { $increment: { visits: 1 } });
  // @ts-expect-error operators and plain fields do not mix
  await orders.update('o1', { $inc: { visits: 1 }, owner: 'x' });
  // @ts-expect-error a function's operators are checked too
  await orders.update('o1', () => ({ $inc: { visits: 'x' } }));
}

export async function deepMerges(orders: OrdersStore): Promise<void> {
  await orders.update('o1', { profile: { lang: 'fr' } }, { merge: 'deep' });
  await orders.update('o1', { profile: { address: { city: 'Nice' } } }, { merge: 'deep' });
  await orders.update('o1', (o) => ({ visits: o.visits + 1 }), { merge: 'deep', ttl: '1h' });
  // @ts-expect-error without merge: 'deep', a nested object is replaced whole, so it must be whole
  await orders.update('o1', { profile: { lang: 'fr' } });
  // @ts-expect-error a misspelt nested field
  await orders.update('o1', { profile: { langg: 'fr' } }, { merge: 'deep' });
  // @ts-expect-error merge is 'shallow' or 'deep'
  await orders.update('o1', { visits: 1 }, { merge: 'deeper' });
}

export type Paths = [
  Expect<Equal<Extract<UpdatePath<Order>, 'profile.address.city'>, 'profile.address.city'>>,
  Expect<Equal<Extract<UpdatePath<Order>, 'describe'>, never>>,
  Expect<Equal<NonNullable<UpdateOperators<Order>['$inc']>['visits'], number | undefined>>,
];
