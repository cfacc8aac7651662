import type { RedisLike } from './redis-connection.js';

/** Log entries read per page while looking for a commit. */
const PAGE = 1_000;
/** How long a lookup waits for a broken connection to come back, in ms. */
const RECONNECT_WAIT_MS = 3_000;
/** How long a lookup keeps asking a Redis too busy to answer in time, in ms. */
const BUSY_WAIT_MS = 30_000;

/** A commit found in the log: its change number and its changes (the entry's `d`). */
export interface FoundCommit {
  readonly seq: number;
  readonly changes: string;
}

/**
 * Finds whether a commit whose reply was lost (a command timeout, a broken connection) was
 * committed: looks for its commit id in the log after `since` (the log position it was sent
 * at; a commit lands after it). Sent on the connection that sent the commit when it is still
 * up, the lookup runs after the commit in Redis, so not finding it means it was not
 * committed. Resolves to the commit, to `null` when it was not committed, or to `undefined`
 * when Redis cannot tell (unreachable, or the log trimmed past `since`).
 */
export async function findCommit(
  client: RedisLike,
  log: string,
  commit: string,
  since: number,
): Promise<FoundCommit | null | undefined> {
  if (client.status !== 'ready') await ready(client);
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    try {
      return await lookUp(client, log, commit, since);
    } catch (error) {
      // a busy Redis (the commit itself may be what keeps it busy) answers later: ask again;
      // each lookup is queued behind the commit on the same connection
      if (!/timed out/i.test((error as Error).message) || Date.now() > deadline) return undefined;
    }
  }
}

async function lookUp(
  client: RedisLike,
  log: string,
  commit: string,
  since: number,
): Promise<FoundCommit | null | undefined> {
  const first = await client.xrange(log, '-', '+', 'COUNT', 1);
  if (first.length > 0 && seqOf(first[0][0]) > since + 1) return undefined; // trimmed past it
  let from = since + 1;
  for (;;) {
    const entries = await client.xrange(log, `0-${from}`, '+', 'COUNT', PAGE);
    for (const [id, fields] of entries) {
      if (fieldOf(fields, 'c') === commit)
        return { seq: seqOf(id), changes: fieldOf(fields, 'd') ?? '[]' };
    }
    if (entries.length < PAGE) return null;
    from = seqOf(entries[entries.length - 1][0]) + 1;
  }
}

function ready(client: RedisLike): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, RECONNECT_WAIT_MS);
    client.once('ready', done);
    function done(): void {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
  });
}

/** A field of a stream entry. */
export function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The log number of a stream entry id `0-<seq>`. */
export function seqOf(id: string | undefined): number {
  return id === undefined ? -1 : Number(id.slice(id.indexOf('-') + 1));
}
