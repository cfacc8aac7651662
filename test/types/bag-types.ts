/**
 * Type tests for bag stores: a `BagStore`'s reads and writes by key are typed by the table
 * kind. Never run: `tsc -p tsconfig.json` type-checks it, so every line without a directive
 * must compile and every line marked `@ts-expect-error` must fail to.
 */
import { BagStore, MemoryStore } from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

class Tag {
  post!: string;
  tag!: string;
}

class TagStore extends BagStore<Tag> {}
class PlainTags extends MemoryStore<Tag> {}

declare const tags: TagStore;
declare const plain: PlainTags;
export const deleteKey = () => tags.delete('p1');
export const deleteRecord = (tag: Tag) => tags.delete(tag);
export const deleteQuery = () => tags.delete({ tag: 'x' });
export const setDelete = () => plain.delete('p1');

export type BagReads = [
  Expect<Equal<ReturnType<TagStore['get']>, Tag[]>>,
  Expect<Equal<ReturnType<TagStore['getOrThrow']>, Tag[]>>,
  Expect<Equal<Awaited<ReturnType<typeof deleteKey>>, Tag[]>>,
  Expect<Equal<Awaited<ReturnType<typeof deleteRecord>>, Tag | undefined>>,
  Expect<Equal<Awaited<ReturnType<typeof deleteQuery>>, Tag[]>>,
  // a set store keeps its one-record types
  Expect<Equal<ReturnType<PlainTags['get']>, Tag | undefined>>,
  Expect<Equal<Awaited<ReturnType<typeof setDelete>>, Tag | undefined>>,
];

export async function misuse(): Promise<void> {
  const records = tags.get('p1');
  tags.ttl(records[0]); // a record's own deadline
  tags.ttl('p1');
  // @ts-expect-error a set store's ttl takes a key, not a record
  plain.ttl(records[0]);
  // @ts-expect-error a bag's read is an array, not one record
  const wrong: Tag | undefined = tags.get('p1');
  void wrong;
  // @ts-expect-error a misspelt field is refused on a bag's write too
  await tags.write({ post: 'p1', tagg: 'x' });
}
