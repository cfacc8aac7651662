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

/**
 * `JSON.stringify(encodeValue(value))`, made without building the encoded value. Backups
 * encode every record of every table, and once the journal has kept encoded records waiting
 * (a large `writeMany`), V8 allocates what `encodeValue` builds straight into the old
 * generation (allocation-site pretenuring): a backup of a million records then left some
 * 150 MB of garbage there until the next full collection. A record whose fields are all
 * primitives JSON can say is one `JSON.stringify` of the record itself.
 */
export function encodedJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return String(value);
      return `["N","${Object.is(value, -0) ? '-0' : String(value)}"]`;
    case 'bigint':
      return `["B","${value.toString()}"]`;
    case 'undefined':
      return '["U"]';
    default:
      break;
  }
  if (value === null) return 'null';
  if (value instanceof Date) return `["D",${JSON.stringify(value.getTime())}]`;
  if (Array.isArray(value)) {
    let text = '["A"';
    // a hole is what `encodeValue`'s spread makes of it: undefined in an array, JSON null
    for (let i = 0; i < value.length; i++)
      text += i in value ? `,${encodedJson(value[i])}` : ',null';
    return `${text}]`;
  }
  const fields = value as Record<string, unknown>;
  if (typeof fields.toJSON !== 'function' && allPlain(fields))
    return `["O",${JSON.stringify(fields)}]`;
  let text = '';
  for (const key of Object.keys(fields))
    text += `${text === '' ? '' : ','}${JSON.stringify(key)}:${encodedJson(fields[key])}`;
  return `["O",{${text}}]`;
}

/** True when every field is a string, boolean, null or a number JSON writes as it is. */
function allPlain(fields: Record<string, unknown>): boolean {
  for (const key of Object.keys(fields)) {
    const field = fields[key];
    switch (typeof field) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(field) && !Object.is(field, -0)) continue;
        return false;
      default:
        if (field === null) continue;
        return false;
    }
  }
  return true;
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
