import { MATCH_ALL_NODE } from './filter-node.js';
import { MAX_CACHED_NAME } from './query-values.js';
import { toFilterNode } from './filter-parser.js';
import {
  compileNode,
  fromTemplate,
  queryTemplate,
  type CompiledQuery,
  type QueryTemplate,
} from './query-compiler.js';

/** How many query shapes keep their template; past it, the cache starts over. */
export const MAX_QUERY_SHAPES = 512;
/** The longest string a shape's last query is kept with (see `keepable`). */
const MAX_KEPT_STRING = 256;
/** How many steps (tokens) the shapes may hold in all; past it, the cache starts over. */
const MAX_SHAPE_STEPS = 16_384;

/**
 * A step of the shape tree: the next token of a query's shape leads to the next node; a
 * node where a shape ends holds its template, or null for a shape that has none.
 */
interface ShapeNode {
  readonly next: Map<string, ShapeNode>;
  template?: QueryTemplate | null;
}

/** Shapes of attribute maps and of tuple lists, apart: their tokens could read alike. */
let maps: ShapeNode = { next: new Map() };
let tuples: ShapeNode = { next: new Map() };
let shapeCount = 0;
let stepCount = 0;
let everything: CompiledQuery | undefined;

/** What `walk` returns for a query of no shape the cache takes. */
const UNCACHED: ShapeNode = { next: new Map(), template: null };

/**
 * Compiles a query as `compileQuery` does, reusing the work done for an earlier query of
 * the same shape: an attribute map or filter object of top-level fields, each equal to a
 * string, a finite number or a boolean or bounded by `$eq`/`$gt`/`$gte`/`$lt`/`$lte` with
 * one, or a list of such `[field, op, value]` tuples, naming no field longer than
 * `MAX_CACHED_NAME`. Its shape is the sequence of its
 * field names, operators and value types; its values are all that differs between two
 * queries of one shape. The first query of a shape is parsed and compiled as usual, which
 * checks it; when the compiled tree is the conjunction of those comparisons, in order, its
 * template is kept, and later queries of the shape skip parsing and compiling (they could
 * not fail them: every name and operator was checked, and the values have the same types).
 * A query with the same values as the shape's last one gets the same compiled query (it
 * holds nothing else); a query holding a string longer than 256 characters is not kept as
 * the last one. Any other query is compiled in full each time. The cache holds at most
 * `MAX_QUERY_SHAPES` shapes and starts over when full.
 */
export function compileCached(table: string, query: unknown): CompiledQuery {
  if (query === undefined) return (everything ??= compileNode(MATCH_ALL_NODE));
  const values: unknown[] = [];
  const node = walk(query, values, false);
  const template = node?.template;
  if (template) {
    const { last } = template;
    if (last !== undefined && sameValues(last.values, values)) return last.compiled;
    const compiled = fromTemplate(template, values);
    // a long string stays alive as long as it is the shape's last value: not kept
    template.last = keepable(values) ? { values, compiled } : undefined;
    return compiled;
  }
  const tree = toFilterNode(table, query); // throws for a bad query: nothing is kept
  if (template === undefined && values.length > 0) {
    if (shapeCount >= MAX_QUERY_SHAPES || stepCount >= MAX_SHAPE_STEPS) forget();
    const end = walk(query, [], true);
    if (end !== undefined && end !== UNCACHED && end.template === undefined) {
      end.template = queryTemplate(tree, values) ?? null;
      shapeCount++;
    }
  }
  return compileNode(tree);
}

/** How many shapes the cache holds (for tests). */
export function cachedQueryShapes(): number {
  return shapeCount;
}

/**
 * Whether a query's values are short enough to keep with its shape: a shape's last query
 * lives until the next query of its shape, so 512 shapes asked once more each with a 1 MB
 * string would hold 512 MB. A query of longer strings is compiled from the template anyway.
 */
function keepable(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string' && value.length > MAX_KEPT_STRING) return false;
  }
  return true;
}

/** Whether two lists of a shape's values (strings, finite numbers, booleans) are alike. */
function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function forget(): void {
  maps = { next: new Map() };
  tuples = { next: new Map() };
  shapeCount = 0;
  stepCount = 0;
}

/**
 * Walks the shape tree along a query's shape, gathering its values; adds the missing nodes
 * when `add` is set. Undefined when the shape is not in the tree; `UNCACHED` when the query
 * has no shape the cache takes.
 */
function walk(query: unknown, values: unknown[], add: boolean): ShapeNode | undefined {
  let node: ShapeNode | undefined;
  if (Array.isArray(query)) {
    node = tuples;
    for (let i = 0; i < query.length; i++) {
      const tuple: unknown = query[i];
      if (!Array.isArray(tuple) || tuple.length !== 3) return UNCACHED;
      const field: unknown = tuple[0];
      const op: unknown = tuple[1];
      const value: unknown = tuple[2];
      const type = typeOf(value);
      if (typeof field !== 'string' || typeof op !== 'string' || !TUPLE_OPERATORS.has(op))
        return UNCACHED;
      if (field.length > MAX_CACHED_NAME) return UNCACHED;
      if (type === undefined) return UNCACHED;
      node = step(step(step(node, field, add), op, add), type, add);
      values.push(value);
    }
    return node;
  }
  if (!isPlainObject(query)) return UNCACHED;
  node = maps;
  for (const field in query) {
    if (!Object.prototype.hasOwnProperty.call(query, field)) continue;
    if (field.charCodeAt(0) === 36 /* $ */ || field.length > MAX_CACHED_NAME) return UNCACHED;
    const value = query[field];
    node = step(node, field, add);
    const type = typeOf(value);
    if (type !== undefined) {
      node = step(node, type, add);
      values.push(value);
      continue;
    }
    if (!isPlainObject(value)) return UNCACHED;
    node = step(node, '{', add);
    let empty = true;
    for (const op in value) {
      if (!Object.prototype.hasOwnProperty.call(value, op)) continue;
      const bound = value[op];
      const boundType = typeOf(bound);
      if (!FIELD_OPERATORS.has(op) || boundType === undefined) return UNCACHED;
      node = step(step(node, op, add), boundType, add);
      values.push(bound);
      empty = false;
    }
    if (empty) return UNCACHED;
    node = step(node, '}', add);
  }
  return node;
}

/** The node a token leads to from `node` (added when `add` is set), or undefined. */
function step(node: ShapeNode | undefined, token: string, add: boolean): ShapeNode | undefined {
  if (node === undefined) return undefined;
  let next = node.next.get(token);
  if (next === undefined && add) {
    node.next.set(token, (next = { next: new Map() }));
    stepCount++;
  }
  return next;
}

const FIELD_OPERATORS: ReadonlySet<string> = new Set(['$eq', '$gt', '$gte', '$lt', '$lte']);
const TUPLE_OPERATORS: ReadonlySet<string> = new Set(['==', '===', '>', '>=', '<', '<=']);

/** The type of a value the cache takes (a string, a finite number, a boolean), or undefined. */
function typeOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isFinite(value) ? 'number' : undefined;
    default:
      return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
