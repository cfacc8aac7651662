/**
 * Packs items (log operations, snapshot rows) into frame payloads of bounded byte size.
 *
 * Each item is one JSON text. An item too large for a frame has its value (the item's
 * element at `valueAt`, an encoded record) cut down: a string, array or object whose JSON
 * is too large is replaced by a reference `["@s" | "@a" | "@o", id]` and its content goes
 * into chunks `[id, piece]` (slices of the string, runs of the array's items or of the
 * object's entries), each small enough for a frame, carried by the frames before the item.
 * No string longer than one frame is ever built, so a record of any size the process holds
 * can be logged. References are resolved on reading by `ChunkStore`; an encoded record never
 * holds a two-element array starting with "@" (its arrays are tagged `A`, `O`, `D`, …).
 */

/** One frame's worth: item texts (comma-joined runs), and chunk texts (`[id,piece]`) items refer to. */
export interface PackedPart {
  readonly items: string[];
  readonly chunks: string[];
  /** Some item holds a reference to a chunk. */
  refs: boolean;
}

/** Room a payload's wrapping (`{"o":[…],"m":1,…}`) takes beside the items and chunks. */
const WRAPPING = 96;
/** Items stringified together when they fit a frame. */
const WINDOW = 1000;

function tryStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return undefined; // longer than a string can be
    throw error;
  }
}

const bytes = (text: string): number =>
  text.length * 3 <= 1024 ? text.length * 3 : Buffer.byteLength(text);

export class FramePacker {
  #nextId = 0;
  readonly #budget: number;

  /** `limit`: the most bytes of one payload. */
  constructor(limit: number) {
    this.#budget = Math.max(64, limit - WRAPPING);
  }

  /** Packs the items into parts, in order; `valueAt` is the index of each item's value. */
  *pack(items: readonly (readonly unknown[])[], valueAt: number): Generator<PackedPart> {
    for (const part of this.packInSteps(items, valueAt)) if (part !== null) yield part;
  }

  /**
   * As `pack`, also yielding `null` after every run of items stringified, so that a caller
   * working in slices can yield to the event loop inside a frame (a frame of 1 MB takes
   * tens of ms to build).
   */
  *packInSteps(
    items: readonly (readonly unknown[])[],
    valueAt: number,
  ): Generator<PackedPart | null> {
    const room = this.#budget;
    let part: PackedPart = { items: [], chunks: [], refs: false };
    let size = 0;
    /** Adds a text (an item, a run of items, or a chunk), starting a new part when full. */
    const add = function* (text: string, chunk: boolean, refs = false): Generator<PackedPart> {
      const n = bytes(text) + 1;
      if (size + n > room && size > 0) {
        yield part;
        part = { items: [], chunks: [], refs: false };
        size = 0;
      }
      if (chunk) part.chunks.push(text);
      else part.items.push(text);
      part.refs ||= refs;
      size += n;
    };
    for (let from = 0; from < items.length; from += WINDOW) {
      const window = items.slice(from, from + WINDOW);
      // most runs of items fit a frame: one stringify for the run
      const run = tryStringify(window);
      if (run !== undefined && bytes(run) <= room) {
        yield* add(run.slice(1, -1), false);
        yield null;
        continue;
      }
      for (const item of window) {
        const text = tryStringify(item);
        if (text !== undefined && bytes(text) < room) {
          yield* add(text, false);
          continue;
        }
        const chunks: string[] = [];
        const value = this.#shrink(item[valueAt], (chunk) => chunks.push(chunk));
        const fields = item.map((field, i) => (i === valueAt ? value : tryStringify(field)));
        if (fields.some((field) => field === undefined))
          throw new RangeError('a log record has a key or name longer than a string can be');
        for (const chunk of chunks) yield* add(chunk, true);
        yield* add(`[${fields.join(',')}]`, false, chunks.length > 0);
      }
      yield null;
    }
    if (size > 0) yield part;
  }

  /** The JSON text of `value`, no longer than a frame, with large parts moved into chunks. */
  #shrink(value: unknown, emit: (chunk: string) => void): string {
    const text = tryStringify(value);
    if (text !== undefined && bytes(text) <= this.#budget) return text;
    const room = this.#budget;
    if (typeof value === 'string') {
      const id = this.#nextId++;
      // a character takes at most 6 bytes in JSON (\uXXXX); a split surrogate pair is
      // escaped on each side and joins back whole
      const step = Math.max(1, Math.floor(room / 6) - 16);
      for (let i = 0; i < value.length; i += step)
        emit(`[${id},${JSON.stringify(value.slice(i, i + step))}]`);
      return `["@s",${id}]`;
    }
    if (Array.isArray(value)) {
      return this.#pieces(
        '@a',
        '[',
        ']',
        (value as unknown[]).map((v) => this.#shrink(v, emit)),
        emit,
      );
    }
    if (typeof value === 'object' && value !== null) {
      const entries = Object.keys(value).map(
        (key) =>
          `${JSON.stringify(key)}:${this.#shrink((value as Record<string, unknown>)[key], emit)}`,
      );
      return this.#pieces('@o', '{', '}', entries, emit);
    }
    throw new RangeError(`a value of type ${typeof value} is too large to log`);
  }

  /** Joins the member texts if they fit one frame, else moves them into chunks by runs. */
  #pieces(
    tag: string,
    open: string,
    close: string,
    members: string[],
    emit: (chunk: string) => void,
  ): string {
    let total = 2;
    for (const member of members) total += bytes(member) + 1;
    if (total <= this.#budget) return open + members.join(',') + close;
    const id = this.#nextId++;
    let run: string[] = [];
    let size = 0;
    for (const member of members) {
      const n = bytes(member) + 1;
      if (run.length > 0 && size + n > this.#budget - 32) {
        emit(`[${id},${open}${run.join(',')}${close}]`);
        run = [];
        size = 0;
      }
      run.push(member);
      size += n;
    }
    emit(`[${id},${open}${run.join(',')}${close}]`);
    return `["${tag}",${id}]`;
  }
}

/** Gathers chunks as frames are read, and puts them back into the values that refer to them. */
export class ChunkStore {
  readonly #chunks = new Map<number, unknown[]>();

  get size(): number {
    return this.#chunks.size;
  }

  /** Adds the chunks of a frame (each `[id, piece]`); false if one is malformed. */
  add(chunks: unknown): boolean {
    if (!Array.isArray(chunks)) return false;
    for (const chunk of chunks) {
      if (!Array.isArray(chunk) || chunk.length !== 2 || !Number.isSafeInteger(chunk[0]))
        return false;
      const id = chunk[0] as number;
      let pieces = this.#chunks.get(id);
      if (!pieces) this.#chunks.set(id, (pieces = []));
      pieces.push(chunk[1]);
    }
    return true;
  }

  /** The value with every reference replaced by what it refers to; throws on a dangling one. */
  resolve(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      if (value.length === 2 && typeof value[0] === 'string' && value[0].startsWith('@')) {
        const pieces = this.#chunks.get(value[1] as number);
        if (!pieces) throw new TypeError(`a reference to a missing chunk ${String(value[1])}`);
        this.#chunks.delete(value[1] as number);
        return this.#assemble(value[0], pieces);
      }
      return value.map((item) => this.resolve(item));
    }
    for (const key of Object.keys(value)) {
      Object.defineProperty(value, key, {
        value: this.resolve((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return value;
  }

  #assemble(tag: string, pieces: unknown[]): unknown {
    switch (tag) {
      case '@s':
        if (!pieces.every((p) => typeof p === 'string')) throw new TypeError('a bad string chunk');
        return pieces.join('');
      case '@a':
        if (!pieces.every(Array.isArray)) throw new TypeError('a bad array chunk');
        return (pieces as unknown[][]).flat(1).map((item) => this.resolve(item));
      case '@o': {
        const out: Record<string, unknown> = {};
        for (const piece of pieces) {
          if (typeof piece !== 'object' || piece === null || Array.isArray(piece))
            throw new TypeError('a bad object chunk');
          for (const key of Object.keys(piece)) {
            Object.defineProperty(out, key, {
              value: this.resolve((piece as Record<string, unknown>)[key]),
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
        }
        return out;
      }
      default:
        throw new TypeError(`an unknown reference '${tag}'`);
    }
  }
}
