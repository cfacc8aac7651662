import type { DataKeys } from '../query/query.types.js';
import { BAG_STORE } from './bag-rules.js';
import { MemoryStore } from './memory-store.js';

/**
 * The store of a bag table (`@Table({ type: 'bag' })` or `'duplicate_bag'`): many records
 * per key, as Erlang's ETS keeps them. It is a `MemoryStore` whose reads and writes by key
 * speak of the key's records:
 *
 * - `get(key)` returns the key's records as an array (empty when it has none), in the order
 *   they were written; `get(key, fallback)` returns `fallback` when it has none; `getOrThrow(key)` throws `RecordNotFoundError` when it has none.
 * - `write(record)` adds a record under its key. In a `'bag'`, a record equal to one the key
 *   holds (field by field, as queries compare values) changes nothing and resolves to the held
 *   record; a `'duplicate_bag'` adds it again. `insert(record)` rejects with
 *   `DuplicateKeyError` when the key holds any record.
 * - `delete(key)` deletes every record of the key and resolves to them; `delete(record)`
 *   deletes that one record (one the store returned, by its row: deleting it twice deletes
 *   one; else the first record of its key equal to it: a plain object is a query);
 *   `delete(query)` every match.
 * - `update(query, change)` changes every match (a key is refused: it names several
 *   records; so is a change of the key field, `StoreValidationError`); in a `'bag'`, an update that would make two records of a key equal rejects
 *   with `DuplicateKeyError` and changes nothing.
 * - `ttl(record)` is the record's own time to live (each record has its own deadline);
 *   `ttl(key)` the time until its last record expires.
 * - `page()` orders by the key field unless told otherwise; its cursors name no hidden row (a
 *   record is found again by its order values, key and contents, and among identical records
 *   of a duplicate_bag by how many came before it).
 * - Queries, indexes, `all()`, `size` (records, not keys), `keys()` (each key once), events
 *   (`key` is the record's key), transactions and persistence work on the records.
 *
 * Replicated, every instance holds the same records: each makes rows of its own (a random
 * prefix), and a `'bag'`'s write, which reads its key's records, commits in Redis only if the
 * table is unchanged since (else it runs again), so two instances writing equal records at
 * once store one. Not available on bags: a sliding `ttl`, `eviction: 'lru'`, `fetch()`.
 *
 * @example
 * ```ts
 * @Table({ name: 'tags', key: 'postId', type: 'bag' })
 * export class Tag { postId!: string; tag!: string; }
 *
 * @Store({ table: Tag })
 * export class TagStore extends BagStore<Tag> {}
 *
 * await tags.write({ postId: 'p1', tag: 'nest' });
 * await tags.write({ postId: 'p1', tag: 'ets' });
 * tags.get('p1'); // Tag[]: both
 * ```
 */
export class BagStore<
  T extends object = object,
  S = unknown,
  D extends DataKeys<T> = DataKeys<T>,
> extends MemoryStore<T, S, D, 'bag'> {
  static readonly [BAG_STORE] = true;
}
