/**
 * Record values as JSON, without losing what JSON cannot say. Every non-primitive is a
 * tagged array, so no user data can pass for a tag: `["A", …items]` an array, `["O", {…}]`
 * an object (its prototype is not kept: nested class instances come back plain), `["D", ms]`
 * a date, `["B", "123"]` a bigint, `["N", "NaN" | "Infinity" | "-Infinity" | "-0"]` a number
 * JSON has no word for, `["U"]` undefined.
 */
export type Encoded = string | number | boolean | null | [string, ...unknown[]];

export function encodeValue(value: unknown): Encoded {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return ['N', Object.is(value, -0) ? '-0' : String(value)];
    case 'bigint':
      return ['B', value.toString()];
    case 'undefined':
      return ['U'];
    default:
      break;
  }
  if (value === null) return null;
  if (value instanceof Date) return ['D', value.getTime()];
  if (Array.isArray(value)) return ['A', ...value.map(encodeValue)];
  const fields: Record<string, Encoded> = {};
  for (const key of Object.keys(value as object))
    setOwn(fields, key, encodeValue((value as Record<string, unknown>)[key]));
  return ['O', fields];
}

/** The value `encodeValue` encoded; throws a TypeError on anything it could not have made. */
export function decodeValue(encoded: unknown): unknown {
  if (encoded === null || typeof encoded !== 'object') {
    if (
      typeof encoded === 'string' ||
      typeof encoded === 'number' ||
      typeof encoded === 'boolean' ||
      encoded === null
    ) {
      return encoded;
    }
    throw new TypeError(`not an encoded value: ${typeof encoded}`);
  }
  if (!Array.isArray(encoded) || typeof encoded[0] !== 'string')
    throw new TypeError('not an encoded value');
  // read by index (no rest array) and objects filled by assignment: recovery decodes every
  // record of every table, and this is most of its time for large tables
  switch (encoded[0]) {
    case 'A': {
      const out: unknown[] = new Array<unknown>(encoded.length - 1);
      for (let i = 1; i < encoded.length; i++) out[i - 1] = decodeValue(encoded[i]);
      return out;
    }
    case 'O': {
      const source: unknown = encoded[1];
      if (typeof source !== 'object' || source === null || Array.isArray(source))
        throw new TypeError('bad object');
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(source)) {
        setOwn(out, key, decodeValue((source as Record<string, unknown>)[key]));
      }
      return out;
    }
    case 'D':
      return new Date(encoded[1] as number);
    case 'B':
      return BigInt(encoded[1] as string);
    case 'N':
      return encoded[1] === '-0' ? -0 : Number(encoded[1]);
    case 'U':
      return undefined;
    default:
      throw new TypeError(`unknown tag '${String(encoded[0])}'`);
  }
}

/**
 * `decodeValue` for a value nobody else holds (parsed from a file for this one use): a
 * record (`["O", {…}]`) is decoded in place, its fields object becoming the decoded record,
 * with only its nested values decoded (copied). Recovery decodes every record of a table, and
 * most fields are primitives: this makes no second object per record.
 */
export function decodeOwnValue(encoded: unknown): unknown {
  if (!Array.isArray(encoded) || encoded.length !== 2 || encoded[0] !== 'O')
    return decodeValue(encoded);
  const source: unknown = encoded[1];
  if (typeof source !== 'object' || source === null || Array.isArray(source))
    throw new TypeError('bad object');
  const fields = source as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (typeof value === 'object' && value !== null) setOwn(fields, key, decodeValue(value));
    else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      decodeValue(value); // throws: nothing JSON parses to
  }
  return fields;
}

/** Sets an own field; assigning '__proto__' would set the prototype, so that key is defined. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else target[key] = value;
}
