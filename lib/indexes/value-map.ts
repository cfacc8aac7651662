/**
 * A map keyed by record values with the equality queries use (`valuesEqual`): primitives
 * as `Map` compares them, dates by time, arrays and objects by content. Dates and objects
 * live in maps of their own so that no encoding can make two unequal values collide.
 */
export class ValueMap<V> {
  readonly #primitives = new Map<unknown, V>();
  readonly #dates = new Map<number, V>();
  readonly #objects = new Map<string, V>();

  get size(): number {
    return this.#primitives.size + this.#dates.size + this.#objects.size;
  }

  get(value: unknown): V | undefined {
    if (typeof value !== 'object' || value === null) return this.#primitives.get(value);
    if (value instanceof Date) return this.#dates.get(value.getTime());
    return this.#objects.get(encode(value));
  }

  set(value: unknown, entry: V): void {
    if (typeof value !== 'object' || value === null) this.#primitives.set(value, entry);
    else if (value instanceof Date) this.#dates.set(value.getTime(), entry);
    else this.#objects.set(encode(value), entry);
  }

  delete(value: unknown): void {
    if (typeof value !== 'object' || value === null) this.#primitives.delete(value);
    else if (value instanceof Date) this.#dates.delete(value.getTime());
    else this.#objects.delete(encode(value));
  }

  clear(): void {
    this.#primitives.clear();
    this.#dates.clear();
    this.#objects.clear();
  }
}

/** A canonical text for an array or object value: equal values, equal texts. */
function encode(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value !== 'object' || value === null) return `${typeof value}:${String(value)}`;
  if (value instanceof Date) return `date:${value.getTime()}`;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) items.push(encode(value[i])); // holes read as undefined
    return `[${items.join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const fields = Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${encode(record[k])}`);
  return `{${fields.join(',')}}`;
}
