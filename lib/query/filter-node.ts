/**
 * The one internal form every query compiles to: attribute maps, filters, `match`
 * templates and condition tuples all become a tree of these nodes.
 */

/** A comparison of the value at a path. */
export type CompareOp =
  'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'nin' | 'exists' | 'regex';

export type FilterNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'and' | 'or' | 'nor'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly node: FilterNode }
  | {
      readonly kind: 'cmp';
      /** The dotted path, split. */
      readonly path: readonly string[];
      readonly op: CompareOp;
      /** Checked for the operator: an array for in/nin, a boolean for exists, a TextPattern for regex. */
      readonly value: unknown;
    };

export const MATCH_ALL_NODE: FilterNode = { kind: 'all' };
