/**
 * Below this many keys a `Map` grows in well under a millisecond: not worth planning for.
 */
const PLANNED_FROM = 1 << 16;

/**
 * How many new keys a `Map` of `size` keys (filled without deletes) takes before the next one
 * makes it grow. V8 doubles a full `Map`'s table in one step that rehashes every entry: at
 * 524,288 keys that one `set` takes 25–90 ms, a pause no slicing can cut. A bulk operation
 * cannot avoid it (splitting the table's rows over several maps would slow every `get`, and
 * lose the insertion order `all()` returns), but it can start that `set` on a fresh slice,
 * so that the pause is the growth alone, not the growth on top of a slice's work.
 *
 * `Infinity` while the map would grow from under `PLANNED_FROM` keys; 0 when the next new
 * key grows it. A map that has had deletes may grow elsewhere: this is a plan, never a
 * condition of correctness.
 */
export function keysBeforeGrowth(size: number): number {
  const full = size <= 1 ? 1 : 2 ** Math.ceil(Math.log2(size));
  return full < PLANNED_FROM ? Infinity : full - size;
}
