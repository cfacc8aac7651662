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

/** Where the previous page ended: the order values and key of its last record. */
interface Cursor {
  readonly values: readonly unknown[];
  readonly key: RecordKey;
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
}

/** A page of records and the cursor of the next one. */
export interface PageResult<T> {
  readonly items: T[];
  readonly next: string | undefined;
}

const OPTION_KEYS = new Set(['orderBy', 'limit', 'after']);
const CURSOR_VERSION = 1;

/** Checks `page()` options and reads the cursor, refusing anything malformed with `QueryError`. */
export function compilePageOptions(
  table: string,
  keyField: string,
  options: unknown,
): CompiledPageOptions {
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
  const compare = (a: object, b: object): number => {
    for (const { read, sign } of keys) {
      const c = compareValues(read(a), read(b));
      if (c !== 0) return c * sign;
    }
    return compareValues(readKey(a), readKey(b)) * tieSign;
  };
  return {
    keys,
    limit,
    after: after === undefined ? undefined : readCursor(table, signature, keys.length, after),
    signature,
    compare,
    readKey,
  };
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
  let from = 0;
  if (options.after) while (from < sorted.length && !pastCursor(options, sorted[from])) from++;
  return pageOf(sorted.slice(from, from + options.limit + 1), options);
}

/** The first `limit` of the matches, with a cursor when there are more. */
function pageOf<T extends object>(matches: T[], options: CompiledPageOptions): PageResult<T> {
  if (matches.length <= options.limit) return { items: matches, next: undefined };
  const items = matches.slice(0, options.limit);
  const last = items[items.length - 1];
  const token = [
    CURSOR_VERSION,
    options.signature,
    options.keys.map((k) => encodeValue(k.read(last))),
    encodeValue(options.readKey(last)),
  ];
  return { items, next: Buffer.from(JSON.stringify(token)).toString('base64url') };
}

function readCursor(table: string, signature: string, fields: number, text: unknown): Cursor {
  const bad = (why: string) =>
    new QueryError(table, `'after' is not a cursor of this page: ${why}`);
  if (typeof text !== 'string' || text === '') throw bad('not a cursor string');
  let token: unknown;
  try {
    token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('malformed');
  }
  if (!Array.isArray(token) || token.length !== 4 || token[0] !== CURSOR_VERSION)
    throw bad('malformed');
  if (token[1] !== signature) throw bad('it was made for another table or order');
  if (!Array.isArray(token[2]) || token[2].length !== fields) throw bad('malformed');
  try {
    const values = (token[2] as unknown[]).map(decodeValue);
    const key = decodeValue(token[3]);
    if (typeof key !== 'string' && typeof key !== 'number') throw bad('malformed');
    return { values, key };
  } catch (error) {
    if (error instanceof QueryError) throw error;
    throw bad('malformed');
  }
}
