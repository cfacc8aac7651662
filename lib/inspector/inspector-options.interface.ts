import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';

/** Options of `MemoryStoreInspectorModule.forRoot()`. */
export interface MemoryStoreInspectorOptions {
  /**
   * Where the page and its JSON API are served (`<path>/`, `<path>/api/...`).
   * @default '/_stores'
   */
  path?: string;
  /**
   * Serve it at all. Off unless set: mount it outside production only, or behind a guard.
   * Only `true` or `false`: anything else (the string `'false'` of an environment variable)
   * is refused with a `MemoryStoreError` rather than read as on.
   * @default false
   */
  enabled?: boolean;
  /**
   * A Nest guard (a class, resolved in the module, or an instance) every request must pass.
   * Never expose the inspector publicly without one: it shows every record.
   */
  guard?: Type<CanActivate> | CanActivate;
  /**
   * Modules that export what a `guard` class injects (an `AuthModule` with its `AuthService`,
   * a `JwtModule`…): the guard is resolved in the inspector's module, which sees only these
   * and global modules.
   * @default []
   */
  imports?: ModuleMetadata['imports'];
}
