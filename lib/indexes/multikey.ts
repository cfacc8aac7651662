/**
 * The values an index files a record under, MongoDB's multikey way: a record whose field
 * holds an array is filed under each of its distinct elements (an empty array under itself),
 * so that a lookup of `'x'` finds the records whose array holds `'x'` (a query matches an
 * array when one of its elements is equal). Any other value is filed under itself.
 */
export function indexedValues(value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) return [value];
  return value.length === 0 ? [value] : arrayElements(value);
}

/**
 * The values whose records may equal `value` in a query: the value, and for a non-empty
 * array its first element too (a record holding that array is filed under its elements;
 * one holding it as an element, under the array). Candidates are re-checked by the query.
 */
export function lookedUpValues(value: unknown): readonly unknown[] {
  return Array.isArray(value) && value.length > 0 ? [value, value[0]] : [value];
}

/**
 * The elements of an array, each once where `===` can tell (a duplicate object element is
 * filed twice under one key, which a bucket keyed by record key absorbs).
 */
export function arrayElements(array: readonly unknown[]): unknown[] {
  if (array.length < 2) return [...array];
  return [...new Set(array)];
}
