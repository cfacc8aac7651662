/**
 * The values an index files a record under, MongoDB's multikey way: a record whose field
 * holds an array is filed under the whole array and under each of its distinct elements, so
 * that a lookup of `'x'` finds the records whose array holds `'x'` (a query matches an array
 * when one of its elements is equal), and a lookup of `['x', 'y']` the records holding that
 * array. Any other value is filed under itself.
 */
export function indexedValues(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) return [value];
  return [value, ...arrayElements(value)];
}

/**
 * The elements of an array, each once where `===` can tell (a duplicate object element is
 * filed twice under one key, which a bucket keyed by record key absorbs).
 */
export function arrayElements(array: readonly unknown[]): unknown[] {
  if (array.length < 2) return [...array];
  return [...new Set(array)];
}
