/**
 * The one internal form every query compiles to: attribute maps, filters, `match`
 * templates and condition tuples all become a tree of these nodes.
 */

/** A comparison of the value at a path. */
export type CompareOp =
  | 'eq'
  | 'ne'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'in'
  | 'nin'
  | 'exists'
  | 'regex'
  | 'size'
  | 'elemMatch';

export type FilterNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'and' | 'or' | 'nor'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly node: FilterNode }
  | {
      readonly kind: 'cmp';
      /** The dotted path, split. */
      readonly path: readonly string[];
      readonly op: CompareOp;
      /**
       * Checked for the operator: an array for in/nin (a regex in it as an `InPattern`), a
       * boolean for exists, a TextPattern for regex, a length for size, and for elemMatch the
       * FilterNode each element is tested with (its paths relative to the element; an empty
       * path is the element itself).
       */
      readonly value: unknown;
    };

export const MATCH_ALL_NODE: FilterNode = { kind: 'all' };

/** A node no record matches (`$all: []`). */
export const MATCH_NONE_NODE: FilterNode = { kind: 'not', node: MATCH_ALL_NODE };

/** A regex inside `$in`/`$nin`: the value matches it when it is a string the pattern matches. */
export class InPattern {
  constructor(readonly pattern: { test(subject: string): boolean }) {}
}
