import { QueryError } from '../errors/query.error.js';
import { MATCH_ALL_NODE, MATCH_NONE_NODE, type CompareOp, type FilterNode } from './filter-node.js';
import { MatchQuery, parseMatch } from './match.js';
import { checkRegex, comparison, describeValue, isPlainObject, parsePath } from './query-values.js';

/** How deeply `$and`/`$or`/`$nor`/`$not` may nest. */
export const MAX_QUERY_DEPTH = 32;

const FIELD_OPERATORS: Readonly<Record<string, CompareOp>> = {
  $eq: 'eq',
  $ne: 'ne',
  $gt: 'gt',
  $gte: 'gte',
  $lt: 'lt',
  $lte: 'lte',
  $in: 'in',
  $nin: 'nin',
  $exists: 'exists',
  $size: 'size',
};

/** Operators that combine filters; any other `$` key of an `$elemMatch` tests the element. */
const LOGICAL_OPERATORS: ReadonlySet<string> = new Set(['$and', '$or', '$nor']);

const TUPLE_OPERATORS: Readonly<Record<string, CompareOp>> = {
  '==': 'eq',
  '===': 'eq',
  '!=': 'ne',
  '!==': 'ne',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
  in: 'in',
  nin: 'nin',
  'not in': 'nin',
  size: 'size',
};

/** Tuple operators that build more than one comparison. */
const ARRAY_TUPLE_OPERATORS = ['all', 'elemMatch'];

/**
 * Turns any query form into the internal tree: `undefined` (everything), an attribute map or
 * filter object, a `match` template, or an array of `[field, op, value]` condition tuples.
 */
export function toFilterNode(table: string, query: unknown): FilterNode {
  if (query === undefined) return MATCH_ALL_NODE;
  if (query instanceof MatchQuery) return parseMatch(table, query);
  if (Array.isArray(query)) return parseTuples(table, query);
  if (isPlainObject(query)) return parseFilter(table, query, 0);
  throw new QueryError(
    table,
    `a query is an attribute map or filter object, a match\`…\` template or an array of [field, op, value] tuples; got ${describeValue(query)}`,
  );
}

function parseFilter(table: string, filter: Record<string, unknown>, depth: number): FilterNode {
  if (depth > MAX_QUERY_DEPTH)
    throw new QueryError(table, `the query nests deeper than ${MAX_QUERY_DEPTH} levels`);
  const nodes: FilterNode[] = [];
  for (const key of Object.keys(filter)) {
    const value = filter[key];
    switch (key) {
      case '$and':
      case '$or':
      case '$nor': {
        if (!Array.isArray(value) || value.length === 0) {
          throw new QueryError(
            table,
            `${key} takes a non-empty array of filters, got ${describeValue(value)}`,
          );
        }
        const branches = Array.from(value as unknown[], (branch) => {
          if (!isPlainObject(branch))
            throw new QueryError(
              table,
              `each ${key} entry must be a filter object, got ${describeValue(branch)}`,
            );
          return parseFilter(table, branch, depth + 1);
        });
        nodes.push({ kind: key.slice(1) as 'and' | 'or' | 'nor', nodes: branches });
        break;
      }
      case '$not':
        if (!isPlainObject(value))
          throw new QueryError(table, `$not takes a filter object, got ${describeValue(value)}`);
        nodes.push({ kind: 'not', node: parseFilter(table, value, depth + 1) });
        break;
      default:
        nodes.push(parseField(table, key, value, depth));
    }
  }
  return conjunction(nodes);
}

function parseField(table: string, field: string, value: unknown, depth: number): FilterNode {
  parsePath(table, field);
  if (value instanceof RegExp) return regexNode(table, field, value, undefined); // MongoDB's shorthand
  if (!isPlainObject(value)) return comparison(table, field, 'eq', value);
  const keys = Object.keys(value);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length === 0) return comparison(table, field, 'eq', value);
  if (operators.length !== keys.length) {
    throw new QueryError(table, `'${field}' mixes operators and field names in one object`);
  }
  return parseOperators(table, field, value, depth);
}

function parseOperators(
  table: string,
  field: string,
  ops: Record<string, unknown>,
  depth: number,
): FilterNode {
  if (depth > MAX_QUERY_DEPTH)
    throw new QueryError(table, `the query nests deeper than ${MAX_QUERY_DEPTH} levels`);
  const nodes: FilterNode[] = [];
  for (const op of Object.keys(ops)) {
    const value = ops[op];
    if (op in FIELD_OPERATORS && Object.prototype.hasOwnProperty.call(FIELD_OPERATORS, op)) {
      nodes.push(comparison(table, field, FIELD_OPERATORS[op], value));
    } else if (op === '$regex') {
      nodes.push(regexNode(table, field, value, ops.$options));
    } else if (op === '$all') {
      nodes.push(allNode(table, field, value, depth));
    } else if (op === '$elemMatch') {
      nodes.push(elemMatchNode(table, field, value, depth));
    } else if (op === '$options') {
      if (!('$regex' in ops)) throw new QueryError(table, `'${field}': $options goes with $regex`);
    } else if (op === '$not') {
      if (value instanceof RegExp) {
        nodes.push({ kind: 'not', node: regexNode(table, field, value, undefined) });
      } else if (
        isPlainObject(value) &&
        Object.keys(value).length > 0 &&
        Object.keys(value).every((k) => k.startsWith('$'))
      ) {
        nodes.push({ kind: 'not', node: parseOperators(table, field, value, depth + 1) });
      } else {
        throw new QueryError(
          table,
          `'${field}': $not takes an object of operators or a RegExp, got ${describeValue(value)}`,
        );
      }
    } else {
      throw new QueryError(table, `unknown operator '${op}' on '${field}'`);
    }
  }
  return conjunction(nodes);
}

function parseTuples(table: string, tuples: unknown[]): FilterNode {
  return conjunction(
    Array.from(tuples, (tuple, i) => {
      if (
        !Array.isArray(tuple) ||
        tuple.length !== 3 ||
        typeof tuple[0] !== 'string' ||
        typeof tuple[1] !== 'string'
      ) {
        throw new QueryError(
          table,
          `condition #${i} must be a [field, operator, value] tuple, got ${describeValue(tuple)}`,
        );
      }
      const [field, operator, value] = tuple as [string, string, unknown];
      if (operator === 'all') return allNode(table, field, value, 0);
      if (operator === 'elemMatch') return elemMatchNode(table, field, value, 0);
      const op = Object.prototype.hasOwnProperty.call(TUPLE_OPERATORS, operator)
        ? TUPLE_OPERATORS[operator]
        : undefined;
      if (!op) {
        throw new QueryError(
          table,
          `condition #${i}: unknown operator '${operator}' (use ${[...Object.keys(TUPLE_OPERATORS), ...ARRAY_TUPLE_OPERATORS].join(' ')})`,
        );
      }
      return comparison(table, field, op, value);
    }),
  );
}

function regexNode(table: string, field: string, pattern: unknown, options: unknown): FilterNode {
  const path = parsePath(table, field);
  return { kind: 'cmp', path, op: 'regex', value: checkRegex(table, field, pattern, options) };
}

/**
 * `$all`: the field holds every value (as MongoDB, the AND of one equality per value, an
 * `{ $elemMatch }` entry tested as such); `$all: []` matches nothing, as in MongoDB.
 */
function allNode(table: string, field: string, values: unknown, depth: number): FilterNode {
  parsePath(table, field);
  if (!Array.isArray(values))
    throw new QueryError(table, `'${field}': $all takes an array, got ${describeValue(values)}`);
  if (values.length === 0) return MATCH_NONE_NODE;
  return conjunction(
    Array.from(values as unknown[], (v) => {
      if (v instanceof RegExp) return regexNode(table, field, v, undefined);
      if (isPlainObject(v) && Object.keys(v).length === 1 && '$elemMatch' in v)
        return elemMatchNode(table, field, v.$elemMatch, depth);
      return comparison(table, field, 'eq', v);
    }),
  );
}

/**
 * `$elemMatch`: one element of the array satisfies every condition. An object of operators
 * only (`{ $gte: 80, $lt: 85 }`) tests each element itself; any other object is a filter on
 * elements that are objects.
 */
function elemMatchNode(table: string, field: string, value: unknown, depth: number): FilterNode {
  const path = parsePath(table, field);
  if (!isPlainObject(value))
    throw new QueryError(
      table,
      `'${field}': $elemMatch takes a filter object, got ${describeValue(value)}`,
    );
  const keys = Object.keys(value);
  const onElement =
    keys.length > 0 && keys.every((k) => k.startsWith('$') && !LOGICAL_OPERATORS.has(k));
  const inner = onElement
    ? onItself(parseOperators(table, field, value, depth + 1))
    : parseFilter(table, value, depth + 1);
  return { kind: 'cmp', path, op: 'elemMatch', value: inner };
}

/** The comparisons of a node made to read the value tested itself (an empty path). */
function onItself(node: FilterNode): FilterNode {
  switch (node.kind) {
    case 'all':
      return node;
    case 'and':
    case 'or':
    case 'nor':
      return { kind: node.kind, nodes: node.nodes.map(onItself) };
    case 'not':
      return { kind: 'not', node: onItself(node.node) };
    case 'cmp':
      return { ...node, path: [] };
  }
}

/** The AND of some nodes, flattened. */
export function conjunction(nodes: FilterNode[]): FilterNode {
  if (nodes.length === 0) return MATCH_ALL_NODE;
  if (nodes.length === 1) return nodes[0];
  return { kind: 'and', nodes };
}
