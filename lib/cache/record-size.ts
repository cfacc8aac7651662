import type { RecordKey } from '../interfaces/table-options.interface.js';

/**
 * The default `sizeOf`: an estimate of a record's bytes on the V8 heap, cheap enough for
 * every write (a walk of its fields, no serialisation). Per object or array 16 bytes plus 8
 * per field or element; a string 16 plus 2 per character (UTF-16, as V8 may hold it); a
 * number, boolean, null or undefined 8; a bigint 16; a Date 32; a Map or Set 32 plus its
 * entries; nested values are walked, each object once. Close to what the heap holds for
 * records of strings and numbers; an estimate, not a measure: give `sizeOf` for exact
 * accounting (`Buffer.byteLength(JSON.stringify(r))` counts what would go on the wire).
 */
export function estimateSize(record: unknown): number {
  return sizeOf(record, new Set());
}

function sizeOf(value: unknown, seen: Set<object>): number {
  switch (typeof value) {
    case 'string':
      return 16 + 2 * value.length;
    case 'bigint':
      return 16;
    case 'object':
      break;
    default:
      return 8;
  }
  if (value === null) return 8;
  if (seen.has(value)) return 8;
  seen.add(value);
  if (value instanceof Date) return 32;
  let bytes = 16;
  if (Array.isArray(value)) {
    for (const item of value) bytes += 8 + sizeOf(item, seen);
    return bytes;
  }
  if (value instanceof Map) {
    bytes += 16;
    for (const [k, v] of value) bytes += 8 + sizeOf(k, seen) + sizeOf(v, seen);
    return bytes;
  }
  if (value instanceof Set) {
    bytes += 16;
    for (const item of value) bytes += 8 + sizeOf(item, seen);
    return bytes;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key))
      bytes += 8 + sizeOf((value as Record<string, unknown>)[key], seen);
  }
  return bytes;
}

/**
 * The size of every record of a table (for `maxSize`), and their total. A record's size is
 * measured once: records are frozen, so it is kept per record object.
 */
export class SizeLedger<T extends object> {
  readonly #sizes = new Map<RecordKey, number>();
  readonly #measured = new WeakMap<T, number>();
  #total = 0;

  constructor(private readonly sizeOf: (record: T) => number) {}

  get total(): number {
    return this.#total;
  }

  /** The record's size (measured by `sizeOf`; a bad result is refused naming it). */
  measure(record: T): number {
    let size = this.#measured.get(record);
    if (size === undefined) {
      size = this.sizeOf(record);
      if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
        throw new TypeError(`sizeOf returned ${String(size)}, not a non-negative number of bytes`);
      }
      this.#measured.set(record, size);
    }
    return size;
  }

  /** The size of the record stored under `key` (0 for none). */
  sizeAt(key: RecordKey): number {
    return this.#sizes.get(key) ?? 0;
  }

  set(key: RecordKey, record: T): void {
    const size = this.measure(record);
    this.#total += size - (this.#sizes.get(key) ?? 0);
    this.#sizes.set(key, size);
  }

  delete(key: RecordKey): void {
    const size = this.#sizes.get(key);
    if (size === undefined) return;
    this.#total -= size;
    this.#sizes.delete(key);
  }

  clear(): void {
    this.#sizes.clear();
    this.#total = 0;
  }
}
