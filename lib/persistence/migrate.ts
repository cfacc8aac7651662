import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import type { TableSchema } from '../metadata/table-schema.js';

/**
 * Brings a record persisted under an older table version up to the current one, one
 * migration at a time. Returns the fields unchanged when the version is current; refuses a
 * record from a newer version (written by newer code) rather than guess.
 */
export function migrateRecord(
  schema: TableSchema,
  key: RecordKey,
  fields: Record<string, unknown>,
  from: number,
): Record<string, unknown> {
  if (from === schema.version) return fields;
  // a bag's rows are keyed by a hidden row identity: its messages name the record's key
  if (schema.bagKey !== undefined) key = fields[schema.bagKey] as RecordKey;
  if (!Number.isSafeInteger(from) || from < 1 || from > schema.version) {
    throw new MemoryStoreError(
      `Table '${schema.name}': record ${JSON.stringify(key)} was saved by version ${from}, but the table is at version ${schema.version}`,
      schema.name,
    );
  }
  let current = fields;
  for (let version = from + 1; version <= schema.version; version++) {
    try {
      current = schema.migrations[version]({ ...current });
    } catch (cause) {
      throw new MemoryStoreError(
        `Table '${schema.name}': migration to version ${version} failed for record ${JSON.stringify(key)}: ${(cause as Error).message}`,
        schema.name,
        { cause },
      );
    }
    if (typeof current !== 'object' || current === null) {
      throw new MemoryStoreError(
        `Table '${schema.name}': migration to version ${version} returned no record for ${JSON.stringify(key)}`,
        schema.name,
      );
    }
  }
  return current;
}
