import { QueryError } from '../errors/query.error.js';
import { MATCH_ALL_NODE, type CompareOp, type FilterNode } from './filter-node.js';
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
};

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
};

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
      nodes.push({
        kind: 'cmp',
        path: parsePath(table, field),
        op: 'regex',
        value: checkRegex(table, field, value, ops.$options),
      });
    } else if (op === '$options') {
      if (!('$regex' in ops)) throw new QueryError(table, `'${field}': $options goes with $regex`);
    } else if (op === '$not') {
      if (value instanceof RegExp) {
        nodes.push({
          kind: 'not',
          node: {
            kind: 'cmp',
            path: parsePath(table, field),
            op: 'regex',
            value: checkRegex(table, field, value, undefined),
          },
        });
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
      const op = Object.prototype.hasOwnProperty.call(TUPLE_OPERATORS, operator)
        ? TUPLE_OPERATORS[operator]
        : undefined;
      if (!op) {
        throw new QueryError(
          table,
          `condition #${i}: unknown operator '${operator}' (use ${Object.keys(TUPLE_OPERATORS).join(' ')})`,
        );
      }
      return comparison(table, field, op, value);
    }),
  );
}

/** The AND of some nodes, flattened. */
export function conjunction(nodes: FilterNode[]): FilterNode {
  if (nodes.length === 0) return MATCH_ALL_NODE;
  if (nodes.length === 1) return nodes[0];
  return { kind: 'and', nodes };
}
