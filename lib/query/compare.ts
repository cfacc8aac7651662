/**
 * The order of record values, shared by sorting, range comparisons and sorted indexes:
 * missing and null first, then booleans, numbers (NaN first among them), strings (by code
 * unit), dates (by time), and anything else last. Range comparisons only match values of
 * the same rank as their bound: `$gt: 5` never matches a string; and none matches NaN,
 * which only has its place here so that sorting is total.
 */
export function compareValues(a: unknown, b: unknown): number {
  // the commonest cases first: two strings, two numbers (neither NaN)
  if (typeof a === 'string') {
    if (typeof b === 'string') return a === b ? 0 : a < b ? -1 : 1;
  } else if (typeof a === 'number' && typeof b === 'number' && a === a && b === b)
    return a < b ? -1 : a > b ? 1 : 0;
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
    case 3:
      return a === b ? 0 : (a as boolean | string) < (b as boolean | string) ? -1 : 1;
    case 2: {
      const x = a as number;
      const y = b as number;
      if (x !== x || y !== y) return (x !== x ? 0 : 1) - (y !== y ? 0 : 1);
      return x < y ? -1 : x > y ? 1 : 0; // a number and a bigint compare by value
    }
    case 4: {
      const d = (a as Date).getTime() - (b as Date).getTime();
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    default:
      return 0;
  }
}

/** The type rank of a value in the order above. */
export function rankOf(v: unknown): number {
  if (v === undefined || v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    default:
      return v instanceof Date ? 4 : 5;
  }
}
