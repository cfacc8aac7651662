/**
 * The base of every error this library throws. `table` names the table the error is about
 * (empty when the error is about the module's configuration rather than one table).
 */
export class MemoryStoreError extends Error {
  constructor(
    message: string,
    /** The name of the table the error concerns. */
    readonly table: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
