/**
 * The fields of `value` that hold a value. A DTO built by the ValidationPipe has every
 * declared property as an own property, `undefined` when the client left it out (class
 * fields are defined, not just declared, under `useDefineForClassFields`). The store itself
 * treats an `undefined` field as absent, but spreading a partial DTO over an object
 * (`{ ...current.profile, ...dto.profile }`) would copy the `undefined`s, so it is trimmed.
 */
export function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as Partial<T>;
}
