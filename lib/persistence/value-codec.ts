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
    fields[key] = encodeValue((value as Record<string, unknown>)[key]);
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
  const [tag, ...rest] = encoded as [string, ...unknown[]];
  switch (tag) {
    case 'A':
      return rest.map(decodeValue);
    case 'O': {
      const source = rest[0];
      if (typeof source !== 'object' || source === null || Array.isArray(source))
        throw new TypeError('bad object');
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(source)) {
        Object.defineProperty(out, key, {
          value: decodeValue((source as Record<string, unknown>)[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case 'D':
      return new Date(rest[0] as number);
    case 'B':
      return BigInt(rest[0] as string);
    case 'N':
      return rest[0] === '-0' ? -0 : Number(rest[0]);
    case 'U':
      return undefined;
    default:
      throw new TypeError(`unknown tag '${tag}'`);
  }
}
