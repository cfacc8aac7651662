import { getMetadataStorage } from 'class-validator';
import { FORBIDDEN_KEYS } from '../engine/stored-values.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { TableClass, TableOptions } from '../interfaces/table-options.interface.js';

/**
 * What a table class declares, as far as the running code can see it. TypeScript's types are
 * gone at run time, so a field counts as declared when an instance has it (an initialiser,
 * or any field when class fields are emitted: `useDefineForClassFields`), when a
 * class-validator or `@Index()` decorator is on it, or when `@Table({ fields })` lists it.
 */
export interface DeclaredFields {
  readonly declared: ReadonlySet<string>;
  /**
   * The list is known to be complete: the instance shows fields that have no initialiser
   * (class fields are emitted), or `fields` was given. Without strictness, key and index
   * fields are checked against the list only then: with `useDefineForClassFields: false`
   * an undecorated `uuid!: string` is invisible, and refusing it would refuse a valid table.
   */
  readonly complete: boolean;
  /** Fields a class-validator decorator is on: validated by it, not by their initialiser. */
  readonly validated: ReadonlySet<string>;
}

/** The declared fields of a table class, given an instance built with `new target()`. */
export function declaredFields(
  target: TableClass,
  options: TableOptions,
  template: object,
  indexed: Iterable<string>,
): DeclaredFields {
  const validated = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(target, '', true, false)
      .map((meta) => meta.propertyName),
  );
  const own = Object.entries(template);
  const declared = new Set([
    ...own.map(([field]) => field),
    ...validated,
    ...indexed,
    ...(options.fields ?? []),
  ]);
  const complete = options.fields !== undefined || own.some(([, value]) => value === undefined);
  return { declared, complete, validated };
}

/** Refuses malformed `keyGen`, `strict` and `fields` options of `@Table()`. */
export function checkTableFieldOptions(options: TableOptions, where: string): void {
  const fail = (message: string) => new MemoryStoreError(`${where}: ${message}`, '');
  if (options.keyGen !== undefined) {
    if (options.keyGen !== 'uuid') throw fail("'keyGen' must be 'uuid'");
    if (options.autoIncrement === true)
      throw fail("'keyGen' and 'autoIncrement' both make keys: choose one");
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean')
    throw fail("'strict' must be true or false");
  if (options.fields !== undefined) {
    if (
      !Array.isArray(options.fields) ||
      options.fields.some((f) => typeof f !== 'string' || f === '' || FORBIDDEN_KEYS.has(f))
    )
      throw fail("'fields' must be an array of field names");
  }
}
