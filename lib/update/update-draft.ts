/**
 * The record an update operator document is making, built copy-on-write: the top-level fields
 * it changes or unsets, over the current record, which is never touched. A container on a
 * changed path is copied once (keeping its prototype); the rest is shared with the current
 * record, and the record factory then owns and freezes what changed, as in any write.
 *
 * Paths are dotted: `'profile.lang'`. A segment made of digits inside an array is the
 * element at that position (`'items.0.qty'`); writing past the end pads the array with
 * `null`, and removing an element sets it to `null` (the array keeps its length), as MongoDB
 * does. Inside an object a digit segment is just a field name.
 */

/** Removes a field (or, in an array, sets the element to `null`). */
export const REMOVE: unique symbol = Symbol('remove');

/** How far past an array's end a write may pad it with `null`. */
export const MAX_ARRAY_PADDING = 10_000;

/** A well-formed update that cannot apply to this record (`$inc` on a string, say). */
export class UpdateApplyError extends Error {
  constructor(
    /** The dotted path of the value at fault. */
    readonly path: string,
    /** The value found there. */
    readonly value: unknown,
    /** The operator that failed. */
    readonly operator: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a path leads to in the draft: the value, if present. */
export interface Found {
  readonly found: boolean;
  readonly value: unknown;
}

const NOT_FOUND: Found = { found: false, value: undefined };

export class UpdateDraft {
  /** New values of top-level fields (own properties; the update refuses reserved names). */
  readonly fields: Record<string, unknown> = {};
  /** Top-level fields the update removes, if any. */
  unset: Set<string> | undefined;
  /** The containers this draft made, which it may change in place. */
  #fresh: object[] | undefined;
  readonly #base: Record<string, unknown>;

  constructor(base: object) {
    this.#base = base as Record<string, unknown>;
  }

  /** The value at `path`, as the draft has it so far. */
  read(path: readonly string[]): Found {
    if (!this.#hasTop(path[0])) return NOT_FOUND;
    let value = this.#top(path[0]);
    for (let i = 1; i < path.length; i++) {
      if (!isContainer(value)) return NOT_FOUND;
      if (Array.isArray(value)) {
        const index = arrayIndex(path[i]);
        if (index === undefined || index >= value.length) return NOT_FOUND;
        value = value[index];
      } else {
        if (!Object.prototype.hasOwnProperty.call(value, path[i])) return NOT_FOUND;
        value = (value as Record<string, unknown>)[path[i]];
      }
    }
    return { found: true, value };
  }

  /** Whether the walk along `path`, as far as it goes, meets an array before its end. */
  reachesIntoArray(path: readonly string[]): boolean {
    if (!this.#hasTop(path[0])) return false;
    let value = this.#top(path[0]);
    for (let i = 1; i < path.length; i++) {
      if (Array.isArray(value)) return true;
      if (!isContainer(value) || !Object.prototype.hasOwnProperty.call(value, path[i]))
        return false;
      value = (value as Record<string, unknown>)[path[i]];
    }
    return false;
  }

  /**
   * Sets the value at `path` (or removes it, given `REMOVE`), copying the containers on the
   * way and creating missing objects; removing under a missing path changes nothing.
   */
  write(path: readonly string[], value: unknown, operator: string): void {
    const first = path[0];
    if (path.length === 1) {
      if (value === REMOVE) {
        delete this.fields[first];
        (this.unset ??= new Set()).add(first);
      } else {
        this.fields[first] = value;
        this.unset?.delete(first);
      }
      return;
    }
    const create = value !== REMOVE;
    const top = this.#hasTop(first) ? this.#top(first) : undefined;
    let container = this.#writable(top, path, 0, create, operator);
    if (container === undefined) return;
    if (container !== top) {
      this.fields[first] = container;
      this.unset?.delete(first);
    }
    for (let i = 1; i < path.length - 1; i++) {
      const parent = container;
      const current = childOf(parent, path[i], path, i, operator);
      const child = this.#writable(current, path, i, create, operator);
      if (child === undefined) return;
      if (child !== current) assign(parent, path[i], child, path, i, operator);
      container = child;
    }
    assign(container, path[path.length - 1], value, path, path.length - 1, operator);
  }

  #hasTop(field: string): boolean {
    if (Object.prototype.hasOwnProperty.call(this.fields, field)) return true;
    return (
      this.unset?.has(field) !== true && Object.prototype.hasOwnProperty.call(this.#base, field)
    );
  }

  #top(field: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.fields, field)
      ? this.fields[field]
      : this.#base[field];
  }

  /** `value` (at `path[0..i]`) as a container this draft may change: itself, a copy or a new object. */
  #writable(
    value: unknown,
    path: readonly string[],
    i: number,
    create: boolean,
    operator: string,
  ): object | undefined {
    if (isContainer(value)) {
      if (this.#fresh?.includes(value)) return value;
      const copy = Array.isArray(value)
        ? value.slice()
        : (Object.assign(
            Object.create(Object.getPrototypeOf(value) as object | null),
            value,
          ) as object);
      (this.#fresh ??= []).push(copy);
      return copy;
    }
    if (!create) return undefined;
    if (value !== undefined) {
      throw new UpdateApplyError(
        dotted(path, i + 1),
        value,
        operator,
        `${operator} cannot create '${dotted(path, path.length)}': '${dotted(path, i + 1)}' holds ${kindOf(value)}, not an object`,
      );
    }
    const created = {};
    (this.#fresh ??= []).push(created);
    return created;
  }
}

/** An array index segment (`'0'`, `'12'`), or undefined. */
export function arrayIndex(segment: string): number | undefined {
  return /^(?:0|[1-9]\d{0,8})$/.test(segment) ? Number(segment) : undefined;
}

/** An object or array a path can go into (not a date, not null). */
export function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !(value instanceof Date);
}

/** The first `n` segments of a path, dotted. */
export function dotted(path: readonly string[], n: number): string {
  return path.slice(0, n).join('.');
}

/** What a value is, for an error message. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function childOf(
  container: object,
  segment: string,
  path: readonly string[],
  i: number,
  operator: string,
): unknown {
  if (!Array.isArray(container))
    return Object.prototype.hasOwnProperty.call(container, segment)
      ? (container as Record<string, unknown>)[segment]
      : undefined;
  const index = indexIn(container, segment, path, i, operator);
  return index < container.length ? (container as unknown[])[index] : undefined;
}

function assign(
  container: object,
  segment: string,
  value: unknown,
  path: readonly string[],
  i: number,
  operator: string,
): void {
  if (!Array.isArray(container)) {
    if (value === REMOVE) delete (container as Record<string, unknown>)[segment];
    else (container as Record<string, unknown>)[segment] = value;
    return;
  }
  const items = container as unknown[];
  const index = indexIn(items, segment, path, i, operator);
  if (value === REMOVE) {
    if (index < items.length) items[index] = null;
    return;
  }
  if (index > items.length + MAX_ARRAY_PADDING) {
    throw new UpdateApplyError(
      dotted(path, i + 1),
      undefined,
      operator,
      `${operator} would pad the array at '${dotted(path, i)}' (length ${items.length}) past index ${index} with nulls: at most ${MAX_ARRAY_PADDING} are added`,
    );
  }
  while (items.length < index) items.push(null);
  items[index] = value;
}

function indexIn(
  items: readonly unknown[],
  segment: string,
  path: readonly string[],
  i: number,
  operator: string,
): number {
  const index = arrayIndex(segment);
  if (index !== undefined) return index;
  throw new UpdateApplyError(
    dotted(path, i),
    items,
    operator,
    `${operator} cannot reach '${dotted(path, path.length)}': '${dotted(path, i)}' is an array, and '${segment}' is not a position in it`,
  );
}
