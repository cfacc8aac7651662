/**
 * The fields of `value` that hold a value. A DTO built by the ValidationPipe has every
 * declared property as an own property, `undefined` when the client left it out (class
 * fields are defined, not just declared, under `useDefineForClassFields`). The store writes
 * an `undefined` field as it is, over the table's default, so the DTO is trimmed first.
 */
export function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as Partial<T>;
}
