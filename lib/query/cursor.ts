import { QueryError } from '../errors/query.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { decodeValue, encodeValue } from '../persistence/value-codec.js';
import { compareValues } from './compare.js';
import { compoundCandidates } from './compound-plan.js';
import { candidates, planQuery, type PlanSource } from './planner.js';
import { type CompiledQuery, reader } from './query-compiler.js';
import { describeValue, isPlainObject, parsePath } from './query-values.js';

/** One field of a page's order. */
interface OrderKey {
  readonly field: string;
  readonly read: (record: object) => unknown;
  readonly sign: 1 | -1;
}

/**
 * Where the previous page ended: the order values and key of its last record. In a bag (many
 * records per key) the key is the record's key field, and `content` and `ordinal` tell the
 * record among those of its key with the same order values (see `BagTies`).
 */
interface Cursor {
  readonly values: readonly unknown[];
  readonly key: RecordKey;
  readonly content?: string;
  readonly ordinal?: number;
}

/**
 * How a bag's page tells apart records of one key with equal order values without its hidden
 * row identity, which a cursor must not carry: by their contents (fields in any order), and
 * among identical records (a duplicate_bag's) by how many of them came before, in row order.
 */
interface BagTies {
  /** A record's contents as a string that equal records share. */
  readonly content: (record: object) => string;
  /** The row identity, the last tie-breaker (never in a cursor). */
  readonly readRow: (record: object) => unknown;
}

/** `page()` options, checked. */
export interface CompiledPageOptions {
  readonly keys: readonly OrderKey[];
  readonly limit: number;
  readonly after?: Cursor;
  /** Names the table and order a cursor belongs to. */
  readonly signature: string;
  /** The order with the key as the last tie-breaker, in the direction of the first field. */
  readonly compare: (a: object, b: object) => number;
  readonly readKey: (record: object) => unknown;
  /** Set for a bag table. */
  readonly bag?: BagTies;
}

/** A page of records and the cursor of the next one. */
export interface PageResult<T> {
  readonly items: T[];
  readonly next: string | undefined;
}

const OPTION_KEYS = new Set(['orderBy', 'limit', 'after']);
const CURSOR_VERSION = 1;

/**
 * Checks `page()` options and reads the cursor, refusing anything malformed with `QueryError`.
 * For a bag table, `keyField` is its hidden row field and `bagKey` its key field.
 */
export function compilePageOptions(
  table: string,
  rowKeyField: string,
  options: unknown,
  bagKey?: string,
): CompiledPageOptions {
  const keyField = bagKey ?? rowKeyField;
  if (!isPlainObject(options))
    throw new QueryError(table, 'page options must be a plain object with a limit');
  for (const key of Object.keys(options))
    if (!OPTION_KEYS.has(key)) throw new QueryError(table, `unknown page option '${key}'`);
  const { orderBy = { [keyField]: 'asc' }, limit, after } = options;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1)
    throw new QueryError(table, `'limit' must be a positive integer, got ${describeValue(limit)}`);
  if (!isPlainObject(orderBy))
    throw new QueryError(table, "'orderBy' must be an object of field: 'asc' | 'desc'");
  const keys: OrderKey[] = Object.entries(orderBy).map(([field, direction]) => {
    if (direction !== 'asc' && direction !== 'desc')
      throw new QueryError(
        table,
        `'orderBy.${field}' must be 'asc' or 'desc', got ${describeValue(direction)}`,
      );
    return { field, read: reader(parsePath(table, field)), sign: direction === 'asc' ? 1 : -1 };
  });
  if (keys.length === 0) throw new QueryError(table, "'orderBy' names no field");
  const signature = JSON.stringify([table, keys.map((k) => [k.field, k.sign])]);
  const readKey = reader([keyField]);
  const tieSign = keys[0].sign;
  const bag: BagTies | undefined =
    bagKey === undefined ? undefined : { content: contentOf(), readRow: reader([rowKeyField]) };
  const compare = (a: object, b: object): number => {
    for (const { read, sign } of keys) {
      const c = compareValues(read(a), read(b));
      if (c !== 0) return c * sign;
    }
    const c = compareValues(readKey(a), readKey(b)) * tieSign;
    if (c !== 0 || !bag) return c;
    const contents = compareValues(bag.content(a), bag.content(b));
    return contents !== 0 ? contents : compareValues(bag.readRow(a), bag.readRow(b));
  };
  return {
    keys,
    limit,
    after:
      after === undefined ? undefined : readCursor(table, signature, keys.length, after, !!bag),
    signature,
    compare,
    readKey,
    bag,
  };
}

/** A record's contents as a string, fields sorted, remembered per record (it is frozen). */
function contentOf(): (record: object) => string {
  const known = new WeakMap<object, string>();
  return (record) => {
    let content = known.get(record);
    if (content === undefined) known.set(record, (content = JSON.stringify(sortedFields(record))));
    return content;
  };
}

function sortedFields(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Date)
    return encodeValue(value);
  if (Array.isArray(value)) return value.map(sortedFields);
  const fields = value as Record<string, unknown>;
  return Object.keys(fields)
    .sort()
    .map((key) => [key, sortedFields(fields[key])]);
}

/** Compares a record with the cursor by order values and key, and in a bag by contents. */
function compareToCursor(options: CompiledPageOptions, record: object): number {
  const { keys, after, readKey, bag } = options;
  for (let i = 0; i < keys.length; i++) {
    const c = compareValues(keys[i].read(record), after!.values[i]);
    if (c !== 0) return c * keys[i].sign;
  }
  const c = compareValues(readKey(record), after!.key) * keys[0].sign;
  if (c !== 0 || !bag) return c;
  return compareValues(bag.content(record), after!.content);
}

/**
 * A bag's page from its matches in page order: past the cursor's record (by order values,
 * key and contents, then `ordinal` identical ones), with a cursor naming no row.
 */
function bagPage<T extends object>(
  sorted: readonly T[],
  options: CompiledPageOptions,
): PageResult<T> {
  const { after, limit } = options;
  let from = 0;
  if (after) {
    while (from < sorted.length && compareToCursor(options, sorted[from]) < 0) from++;
    for (let n = 0; n < after.ordinal! && from < sorted.length; n++) {
      if (compareToCursor(options, sorted[from]) !== 0) break;
      from++;
    }
  }
  if (sorted.length - from <= limit) return { items: sorted.slice(from), next: undefined };
  const items = sorted.slice(from, from + limit);
  const lastAt = from + limit - 1;
  const last = sorted[lastAt];
  let ordinal = 1; // identical records up to the last one, in page order
  const bag = options.bag!;
  while (ordinal <= lastAt && sameRecord(options, sorted[lastAt - ordinal], last)) ordinal++;
  return { items, next: cursorOf(options, last, [bag.content(last), ordinal]) };
}

/** Whether two records of a bag tie in page order up to their rows (same order values, key, contents). */
function sameRecord(options: CompiledPageOptions, a: object, b: object): boolean {
  const { keys, readKey, bag } = options;
  for (const { read } of keys) if (compareValues(read(a), read(b)) !== 0) return false;
  return compareValues(readKey(a), readKey(b)) === 0 && bag!.content(a) === bag!.content(b);
}

/** True when a record comes after the cursor in the page order. */
function pastCursor(options: CompiledPageOptions, record: object): boolean {
  const { keys, after, readKey } = options;
  for (let i = 0; i < keys.length; i++) {
    const c = compareValues(keys[i].read(record), after!.values[i]);
    if (c !== 0) return c * keys[i].sign > 0;
  }
  return compareValues(readKey(record), after!.key) * keys[0].sign > 0;
}

/**
 * A page of a table's matches: a seek past the cursor in an index that yields the order (a
 * sorted index on the one order field, or an ordered compound index whose prefix the query
 * fixes), else the matches past the cursor, sorted. Never an offset: records inserted or
 * deleted between pages neither repeat nor hide the others.
 */
export function readPage<T extends object>(
  source: PlanSource<T>,
  query: CompiledQuery,
  test: (record: T) => boolean,
  options: CompiledPageOptions,
): PageResult<T> {
  const { keys, after, limit } = options;
  if (options.bag) {
    // (a bag's indexes order a key's records by row: its pages sort the matches)
    const matches: T[] = [];
    for (const record of candidates(source, planQuery(source, query).path, true))
      if (test(record)) matches.push(record);
    return bagPage(matches.sort(options.compare), options);
  }
  const single = keys.length === 1 ? keys[0] : undefined;
  const direction = single?.sign === -1 ? 'desc' : 'asc';
  const plan = planQuery(
    source,
    query,
    single ? { field: single.field, direction, limited: true } : undefined,
  );
  if (!plan.ordered) {
    const matches: T[] = [];
    for (const record of candidates(source, plan.path, true))
      if (test(record) && (!after || pastCursor(options, record))) matches.push(record);
    return pageOf(matches.sort(options.compare), options);
  }
  const path = plan.path;
  let walk: Iterable<T>;
  if (path.kind === 'compound') {
    const index = source.compoundIndexes.find((c) => c.field === path.field)!;
    walk = after
      ? index.range(path.values, path.lower, path.upper, path.direction, {
          value: after.values[0],
          key: after.key,
        })
      : compoundCandidates(index, path);
  } else if (after) {
    walk = source.sortedIndex(single!.field)!.after(after.values[0], after.key, direction);
  } else {
    walk = candidates(source, path);
  }
  const items: T[] = [];
  for (const record of walk) {
    if (!test(record)) continue;
    items.push(record);
    if (items.length > limit) break;
  }
  return pageOf(items, options);
}

/** A page of matches already in order (a transaction's view): those past the cursor. */
export function pageOfSorted<T extends object>(
  sorted: readonly T[],
  options: CompiledPageOptions,
): PageResult<T> {
  if (options.bag) return bagPage([...sorted].sort(options.compare), options);
  let from = 0;
  if (options.after) while (from < sorted.length && !pastCursor(options, sorted[from])) from++;
  return pageOf(sorted.slice(from, from + options.limit + 1), options);
}

/** The first `limit` of the matches, with a cursor when there are more. */
function pageOf<T extends object>(matches: T[], options: CompiledPageOptions): PageResult<T> {
  if (matches.length <= options.limit) return { items: matches, next: undefined };
  const items = matches.slice(0, options.limit);
  return { items, next: cursorOf(options, items[items.length - 1]) };
}

/** The cursor past `last`: its order values and key (and a bag's tie-breakers). */
function cursorOf(options: CompiledPageOptions, last: object, bagTies: unknown[] = []): string {
  const token = [
    CURSOR_VERSION,
    options.signature,
    options.keys.map((k) => encodeValue(k.read(last))),
    encodeValue(options.readKey(last)),
    ...bagTies,
  ];
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function readCursor(
  table: string,
  signature: string,
  fields: number,
  text: unknown,
  bag: boolean,
): Cursor {
  const bad = (why: string) =>
    new QueryError(table, `'after' is not a cursor of this page: ${why}`);
  if (typeof text !== 'string' || text === '') throw bad('not a cursor string');
  let token: unknown;
  try {
    token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('malformed');
  }
  if (!Array.isArray(token) || token.length !== (bag ? 6 : 4) || token[0] !== CURSOR_VERSION)
    throw bad('malformed');
  const [, , , , content, ordinal] = token as unknown[];
  if (
    bag &&
    (typeof content !== 'string' || !Number.isSafeInteger(ordinal) || (ordinal as number) < 1)
  )
    throw bad('malformed');
  if (token[1] !== signature) throw bad('it was made for another table or order');
  if (!Array.isArray(token[2]) || token[2].length !== fields) throw bad('malformed');
  try {
    const values = (token[2] as unknown[]).map(decodeValue);
    const key = decodeValue(token[3]);
    if (typeof key !== 'string' && typeof key !== 'number') throw bad('malformed');
    return bag
      ? { values, key, content: content as string, ordinal: ordinal as number }
      : { values, key };
  } catch (error) {
    if (error instanceof QueryError) throw error;
    throw bad('malformed');
  }
}
