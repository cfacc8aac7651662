import type { MemoryTable } from '../engine/memory-table.js';
import { QueryError } from '../errors/query.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { isPlainObject } from '../query/query-values.js';
import type { ChangeFilter, StoreChange, StoreChangeOp } from './store-change.interface.js';

const OPS: ReadonlySet<string> = new Set([
  'insert',
  'update',
  'delete',
  'expire',
  'evict',
  'clear',
]);
const FILTER_KEYS: ReadonlySet<string> = new Set(['op', 'key', 'where']);

/**
 * A predicate over changes for `store.changes(filter)`, or undefined for no filter.
 *
 * A `clear` names no key and no record, yet it removes every record: it passes the `key` and
 * `where` conditions, so a subscriber following some records learns that they are gone. An
 * update passes `where` when the record matches before or after it, so a subscriber also
 * learns that a record left its set; a removal passes when the removed record matched.
 */
export function compileChangeFilter<T extends object>(
  table: MemoryTable<T>,
  filter: ChangeFilter<unknown> | undefined,
): ((change: StoreChange<T>) => boolean) | undefined {
  if (filter === undefined) return undefined;
  if (!isPlainObject(filter))
    throw new QueryError(table.name, 'changes() takes a filter object { op?, key?, where? }');
  for (const k of Object.keys(filter)) {
    if (!FILTER_KEYS.has(k))
      throw new QueryError(table.name, `unknown change filter option '${k}'`);
  }
  const ops =
    filter.op === undefined
      ? undefined
      : new Set<StoreChangeOp>(
          Array.isArray(filter.op) ? (filter.op as StoreChangeOp[]) : [filter.op as StoreChangeOp],
        );
  for (const op of ops ?? []) {
    if (!OPS.has(op)) throw new QueryError(table.name, `unknown change operation '${String(op)}'`);
  }
  const keys =
    filter.key === undefined
      ? undefined
      : new Set<RecordKey>(
          Array.isArray(filter.key) ? (filter.key as RecordKey[]) : [filter.key as RecordKey],
        );
  const where = filter.where === undefined ? undefined : table.compile(filter.where).test;
  return (change) => {
    if (ops && !ops.has(change.op)) return false;
    if (change.op === 'clear') return true;
    if (keys && (change.key === undefined || !keys.has(change.key))) return false;
    if (where) {
      const { record, previous } = change;
      if (!(record && where(record)) && !(previous && where(previous))) return false;
    }
    return true;
  };
}
