/**
 * A sorted list in blocks: a list of sorted arrays of a bounded size, so that an insert or a
 * delete moves at most a block's worth of entries instead of the whole list, and a search
 * is two binary searches (over the blocks' last entries, then inside one block).
 */
const LOAD = 512;

/** A position in the list: block, then offset in the block. */
export type ListPosition = readonly [block: number, offset: number];

export class SortedList<E> {
  #blocks: E[][] = [];
  #size = 0;

  constructor(private readonly compare: (a: E, b: E) => number) {}

  get size(): number {
    return this.#size;
  }

  insert(entry: E): void {
    const blocks = this.#blocks;
    this.#size++;
    if (blocks.length === 0) {
      blocks.push([entry]);
      return;
    }
    let b = this.#blockFor((e) => this.compare(e, entry) < 0);
    if (b === blocks.length) b--;
    const block = blocks[b];
    block.splice(
      upper(block, (e) => this.compare(e, entry) <= 0),
      0,
      entry,
    );
    if (block.length > 2 * LOAD) blocks.splice(b + 1, 0, block.splice(LOAD));
  }

  /** Removes the entry equal to `entry` (compare === 0); false if there is none. */
  remove(entry: E): boolean {
    const at = this.#find(entry);
    if (at === undefined) return false;
    const block = this.#blocks[at.b];
    block.splice(at.i, 1);
    if (block.length === 0) this.#blocks.splice(at.b, 1);
    this.#size--;
    return true;
  }

  /** Puts `entry` in place of the entry equal to it (compare === 0); false if there is none. */
  replace(entry: E): boolean {
    const at = this.#find(entry);
    if (at === undefined) return false;
    this.#blocks[at.b][at.i] = entry;
    return true;
  }

  /** Where the entry equal to `entry` (compare === 0) is: its block and index, if any. */
  #find(entry: E): { b: number; i: number } | undefined {
    const blocks = this.#blocks;
    const b = this.#blockFor((e) => this.compare(e, entry) < 0);
    if (b === blocks.length) return undefined;
    const block = blocks[b];
    const i = upper(block, (e) => this.compare(e, entry) < 0);
    if (i === block.length || this.compare(block[i], entry) !== 0) return undefined;
    return { b, i };
  }

  clear(): void {
    this.#blocks = [];
    this.#size = 0;
  }

  /**
   * The position of the first entry for which `isBefore` is false. `isBefore` must be true
   * for a prefix of the list and false after it.
   */
  position(isBefore: (entry: E) => boolean): ListPosition {
    const b = this.#blockFor(isBefore);
    if (b === this.#blocks.length) return [b, 0];
    return [b, upper(this.#blocks[b], isBefore)];
  }

  /** How many entries come before a position. */
  rank([b, i]: ListPosition): number {
    let n = i;
    for (let k = 0; k < b && k < this.#blocks.length; k++) n += this.#blocks[k].length;
    return n;
  }

  /** How many entries lie from `from` (inclusive) to `to` (exclusive): reads only the blocks between. */
  countBetween([fb, fi]: ListPosition, [tb, ti]: ListPosition): number {
    if (tb < fb || (tb === fb && ti <= fi)) return 0;
    const blocks = this.#blocks;
    let n = ti - fi;
    for (let k = fb; k < tb && k < blocks.length; k++) n += blocks[k].length;
    return n;
  }

  /** Entries from position `from` (inclusive) to `to` (exclusive), in order or reversed. */
  *slice(from: ListPosition, to: ListPosition, direction: 'asc' | 'desc' = 'asc'): Generator<E> {
    const blocks = this.#blocks;
    const [fb, fi] = from;
    const [tb, ti] = to;
    if (direction === 'asc') {
      for (let b = fb; b < blocks.length && b <= tb; b++) {
        const block = blocks[b];
        const stop = b === tb ? ti : block.length;
        for (let i = b === fb ? fi : 0; i < stop; i++) yield block[i];
      }
    } else {
      for (let b = Math.min(tb, blocks.length - 1); b >= fb; b--) {
        const block = blocks[b];
        const first = b === fb ? fi : 0;
        for (let i = (b === tb ? ti : block.length) - 1; i >= first; i--) yield block[i];
      }
    }
  }

  /**
   * Calls `visit` on the entries from `from` (inclusive) to `to` (exclusive), in order or
   * reversed, until it returns true: `slice` without a generator's cost per entry.
   */
  walk(
    from: ListPosition,
    to: ListPosition,
    direction: 'asc' | 'desc',
    visit: (entry: E) => boolean,
  ): void {
    const blocks = this.#blocks;
    const [fb, fi] = from;
    const [tb, ti] = to;
    if (direction === 'asc') {
      for (let b = fb; b < blocks.length && b <= tb; b++) {
        const block = blocks[b];
        const stop = b === tb ? ti : block.length;
        for (let i = b === fb ? fi : 0; i < stop; i++) if (visit(block[i])) return;
      }
    } else {
      for (let b = Math.min(tb, blocks.length - 1); b >= fb; b--) {
        const block = blocks[b];
        const first = b === fb ? fi : 0;
        for (let i = (b === tb ? ti : block.length) - 1; i >= first; i--)
          if (visit(block[i])) return;
      }
    }
  }

  /** Entries from `from` (inclusive) to `to` (exclusive) in order, mapped, in a new array. */
  toArray<R>(from: ListPosition, to: ListPosition, map: (entry: E) => R): R[] {
    const blocks = this.#blocks;
    // sized up front: the copy is most of a short range's read
    const out = new Array<R>(this.countBetween(from, to));
    const [fb, fi] = from;
    const [tb, ti] = to;
    let n = 0;
    for (let b = fb; b < blocks.length && b <= tb; b++) {
      const block = blocks[b];
      const stop = b === tb ? ti : block.length;
      for (let i = b === fb ? fi : 0; i < stop; i++) out[n++] = map(block[i]);
    }
    return out;
  }

  /** The position after the last entry. */
  end(): ListPosition {
    return [this.#blocks.length, 0];
  }

  /** The first block whose last entry is not before (by `isBefore`), or the block count. */
  #blockFor(isBefore: (entry: E) => boolean): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid];
      if (isBefore(block[block.length - 1])) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first index in a sorted block for which `isBefore` is false. */
function upper<E>(block: E[], isBefore: (entry: E) => boolean): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBefore(block[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
