/**
 * How many values (fields and items) a record's copy may copy again, for objects and arrays
 * it holds in more than one place. Each place gets its own copy, so a record's values form
 * a tree; this bounds what that costs, so that a graph that reuses its sub-objects level
 * after level (a tree of 2^depth paths from depth + 1 objects) is refused rather than copied
 * (and later written, exported and compared) at a cost doubling per level.
 */
export const MAX_REPEATED_VALUES = 100_000;

/** The objects and arrays met while copying one record (or query operand), and what was copied again. */
export class CopyScope {
  /** The scope of the record being copied (null outside `beginRecordCopy`/`endRecordCopy`). */
  static current: CopyScope | null = null;

  /**
   * The first object met, kept apart from `met`: most records hold at most one object (a
   * cache entry's `value`), and a Set's add and clear per write cost more than the copy.
   */
  first: object | undefined = undefined;
  /** The objects met after the first. */
  readonly met = new Set<object>();
  repeated = 0;

  /** Counts `value` if it was met before; false once the repeats pass the bound. */
  visit(value: object): boolean {
    if (this.first === undefined) {
      this.first = value;
      return true;
    }
    if (value !== this.first && !this.met.has(value)) {
      this.met.add(value);
      return true;
    }
    this.repeated += 1 + (Array.isArray(value) ? value.length : Object.keys(value).length);
    return this.repeated <= MAX_REPEATED_VALUES;
  }
}

const TOP_SCOPE = new CopyScope();

/**
 * Starts copying a record: from here to `endRecordCopy`, values met more than once count
 * against `MAX_REPEATED_VALUES`. A copy started inside another (a getter that writes to a
 * store) gets its own scope. Returns what `endRecordCopy` takes back.
 */
export function beginRecordCopy(): CopyScope | null {
  const outer = CopyScope.current;
  CopyScope.current = outer === null ? TOP_SCOPE : new CopyScope();
  return outer;
}

/** Ends the copy `beginRecordCopy` started (call it in a `finally`). */
export function endRecordCopy(outer: CopyScope | null): void {
  const scope = CopyScope.current;
  if (scope !== null) {
    scope.first = undefined;
    scope.repeated = 0;
    if (scope.met.size > 0) scope.met.clear();
  }
  CopyScope.current = outer;
}
