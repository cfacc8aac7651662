import { MemoryStoreError } from './memory-store.error.js';

/**
 * A persisted file is damaged somewhere a crash cannot explain (not a torn last record): the
 * store refuses to start rather than drop data silently. No file was changed.
 */
export class CorruptStoreError extends MemoryStoreError {
  constructor(
    table: string,
    /** The damaged file. */
    readonly file: string,
    /** The byte offset of the damaged record in it. */
    readonly offset: number,
    reason: string,
    /** What the damage stopped (a backup's damage stops a restore, not a start-up). */
    consequence = 'Start-up stopped; no file was changed',
  ) {
    super(`Corrupt data in ${file} at byte ${offset}: ${reason}. ${consequence}`, table);
  }
}
