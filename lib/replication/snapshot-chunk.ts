import { createHash } from 'node:crypto';

/** Length of the digest a chunk starts with (SHA-1, hex). */
const DIGEST_LENGTH = 40;

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * A compacted snapshot's chunk as stored: its text preceded by the text's digest, so that a
 * loading instance can tell a chunk whose bytes changed in Redis (a restore, a bad replica,
 * a hand edit) from the one its writer stored.
 */
export function sealChunk(text: string): string {
  return digest(text) + text;
}

/** The text of a stored chunk, or undefined when it does not match its digest (never loaded). */
export function openChunk(stored: string): string | undefined {
  if (stored.length < DIGEST_LENGTH) return undefined;
  const text = stored.slice(DIGEST_LENGTH);
  return digest(text) === stored.slice(0, DIGEST_LENGTH) ? text : undefined;
}
