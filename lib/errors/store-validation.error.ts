import type { ValidationError } from 'class-validator';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { showValue } from './describe-value.js';
import { MemoryStoreError } from './memory-store.error.js';

/**
 * A record failed validation: class-validator's decorators on the table class, or the
 * store's own rules (a primary key of the right type, no `__proto__`/`constructor`/
 * `prototype` keys, plain data values). Nothing was changed.
 */
export class StoreValidationError extends MemoryStoreError {
  constructor(
    table: string,
    /** class-validator's errors, one per invalid property. */
    readonly errors: ValidationError[],
    /** In a batch (`writeMany`, seeds), the index of the invalid record. */
    readonly entry?: number,
    /** The record's primary key, when it has a valid one (an update's key, say). */
    readonly key?: RecordKey,
  ) {
    super(
      `Invalid record${key === undefined ? '' : ` ${showValue(key)}`}` +
        `${entry === undefined ? '' : ` at index ${entry}`} for table '${table}': ${describe(errors)}`,
      table,
    );
  }
}

function describe(errors: ValidationError[], prefix = ''): string {
  const parts: string[] = [];
  for (const error of errors) {
    const path = prefix + error.property;
    for (const message of Object.values(error.constraints ?? {})) parts.push(message);
    if (error.children?.length) parts.push(describe(error.children, `${path}.`));
  }
  return parts.join('; ');
}
