import type { MemoryTable } from '../engine/memory-table.js';
import { QueryError } from '../errors/query.error.js';
import { ValueMap } from '../indexes/value-map.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { JoinExplanation } from './join.types.js';
import { reader } from './query-compiler.js';
import { describeValue, isPlainObject, parsePath, RESERVED_FIELD_NAMES } from './query-values.js';
import { compileSelectOptions } from './select-options.js';

/** The other side of a join as the select sees it: committed, or through its transaction. */
export interface JoinSide {
  readonly table: MemoryTable<object>;
  get(key: RecordKey): object | undefined;
  select(): object[];
  /** True inside a transaction: its staged writes are not in the table's indexes. */
  readonly staged: boolean;
}

/** Resolves a join's `store` (a store or its class) to its side. */
export type JoinResolver = (store: unknown, alias: string) => JoinSide;

interface CompiledJoin {
  readonly alias: string;
  readonly on: (record: object) => unknown;
  readonly inner: boolean;
  readonly many: boolean;
  readonly lookup: (value: unknown) => object | readonly object[] | undefined;
  readonly explanation: JoinExplanation;
}

const JOIN_KEYS = new Set(['store', 'on', 'by', 'type', 'many']);
const NONE: readonly object[] = Object.freeze([]);

/**
 * `select(query, { join, ...options })`: selects this side's records (ordered by its own
 * fields), attaches the related records of each join, then applies `offset`/`limit` (after
 * the joins, when an inner join may drop records) and `fields` (the aliases always kept).
 * Each joined record is a new frozen object with the record's prototype and fields plus one
 * field per alias. `explanations`, when given, receives each join's access path.
 */
export function selectJoined(
  table: MemoryTable<object>,
  select: (query: unknown, options: unknown) => object[],
  query: unknown,
  options: Record<string, unknown>,
  resolve: JoinResolver,
  explanations?: Record<string, JoinExplanation>,
): object[] {
  const name = table.name;
  const { join, ...rest } = options;
  const joins = compileJoins(name, table.schema.fields, join, resolve);
  const selection = compileSelectOptions(name, table.keyField, rest);
  const { orderBy, limit, offset } = rest;
  // An order on a joined field (`'dept.floor'`) sorts the joined records.
  const aliases = new Set(joins.map((j) => j.alias));
  const joinedOrder =
    isPlainObject(orderBy) && Object.keys(orderBy).some((f) => aliases.has(f.split('.')[0]));
  const filtering = joinedOrder || joins.some((j) => j.inner);
  const records = select(
    query,
    joinedOrder
      ? undefined
      : filtering
        ? { orderBy }
        : {
            orderBy,
            ...(limit === undefined ? {} : { limit }),
            ...(offset === undefined ? {} : { offset }),
          },
  );
  let out: object[] = [];
  const attached: unknown[] = new Array<unknown>(joins.length);
  next: for (const record of records) {
    for (let i = 0; i < joins.length; i++) {
      const j = joins[i];
      const related = j.lookup(j.on(record));
      j.explanation.lookups++;
      const found = j.many ? (related as readonly object[]).length > 0 : related !== undefined;
      if (found) j.explanation.matched++;
      else if (j.inner) continue next;
      attached[i] = related;
    }
    out.push(attach(record, joins, attached));
  }
  if (joinedOrder) out.sort(selection.compare);
  if (filtering && (selection.offset > 0 || selection.limit < out.length))
    out = out.slice(selection.offset, selection.offset + selection.limit);
  if (explanations) for (const j of joins) explanations[j.alias] = j.explanation;
  if (!selection.fields) return out;
  const keep = [...selection.fields, ...joins.map((j) => j.alias)];
  return out.map((r) => {
    const projected: Record<string, unknown> = {};
    for (const f of keep)
      if (Object.prototype.hasOwnProperty.call(r, f))
        projected[f] = (r as Record<string, unknown>)[f];
    return Object.freeze(projected);
  });
}

function attach(record: object, joins: readonly CompiledJoin[], attached: unknown[]): object {
  const out = Object.assign(
    Object.create(Object.getPrototypeOf(record) as object | null) as object,
    record,
  );
  for (let i = 0; i < joins.length; i++)
    (out as Record<string, unknown>)[joins[i].alias] = attached[i];
  return Object.freeze(out);
}

function compileJoins(
  name: string,
  fields: readonly string[],
  join: unknown,
  resolve: JoinResolver,
): CompiledJoin[] {
  if (!isPlainObject(join) || Object.keys(join).length === 0)
    throw new QueryError(
      name,
      "'join' must be an object of alias: { store, on, by?, type?, many? }",
    );
  return Object.entries(join).map(([alias, spec]) => {
    if (alias === '' || alias.includes('.') || RESERVED_FIELD_NAMES.has(alias))
      throw new QueryError(name, `'${alias}' cannot be a join alias`);
    if (fields.includes(alias))
      throw new QueryError(
        name,
        `join alias '${alias}' is a field of '${name}': name the joined record otherwise`,
      );
    if (!isPlainObject(spec))
      throw new QueryError(name, `join '${alias}' must be an object such as { store, on }`);
    for (const key of Object.keys(spec))
      if (!JOIN_KEYS.has(key))
        throw new QueryError(name, `unknown option '${key}' in join '${alias}'`);
    const { store, on, by, type, many } = spec;
    if (typeof on !== 'string')
      throw new QueryError(name, `join '${alias}' needs 'on': a field of '${name}'`);
    if (by !== undefined && typeof by !== 'string')
      throw new QueryError(
        name,
        `'by' of join '${alias}' must be a field name, got ${describeValue(by)}`,
      );
    if (type !== undefined && type !== 'left' && type !== 'inner')
      throw new QueryError(
        name,
        `'type' of join '${alias}' must be 'left' or 'inner', got ${describeValue(type)}`,
      );
    if (many !== undefined && typeof many !== 'boolean')
      throw new QueryError(name, `'many' of join '${alias}' must be true or false`);
    const side = resolve(store, alias);
    const other = side.table;
    const field = by ?? other.schema.bagKey ?? other.keyField; // a bag: its key, not its rows
    const explanation: JoinExplanation = {
      table: other.name,
      strategy: 'hash map',
      field,
      lookups: 0,
      matched: 0,
    };
    return {
      alias,
      on: reader(parsePath(name, on)),
      inner: type === 'inner',
      many: many === true,
      lookup: lookupOf(side, field, many === true, explanation),
      explanation,
    };
  });
}

/** How one join finds the related records of a value: key, index, or a map built once. */
function lookupOf(
  side: JoinSide,
  field: string,
  many: boolean,
  explanation: JoinExplanation,
): CompiledJoin['lookup'] {
  const other = side.table;
  if (field === other.keyField) {
    explanation.strategy = 'key lookup';
    const one = (value: unknown) =>
      typeof value === 'string' || typeof value === 'number' ? side.get(value) : undefined;
    if (!many) return one;
    return (value) => {
      const found = one(value);
      return found === undefined ? NONE : [found];
    };
  }
  const index = side.staged ? undefined : other.indexes.get(field);
  if (index) {
    explanation.strategy = 'index lookup';
    return (value) => {
      if (value === undefined || value === null) return many ? NONE : undefined;
      const found: object[] = [];
      for (const r of index.lookup(value)) {
        if (!other.has(other.keyOf(r))) continue; // expired, waiting to be removed
        if (!many) return r;
        found.push(r);
      }
      return many ? found : undefined;
    };
  }
  const read = reader(parsePath(other.name, field));
  const map = new ValueMap<object[]>();
  for (const r of side.select()) {
    const value = read(r);
    if (value === undefined || value === null) continue;
    const list = map.get(value);
    if (list) list.push(r);
    else map.set(value, [r]);
  }
  return (value) => {
    const list = value === undefined || value === null ? undefined : map.get(value);
    return many ? (list ?? NONE) : list?.[0];
  };
}
