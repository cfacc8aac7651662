import { fieldOf } from './commit-outcome.js';
import type { RedisLike } from './redis-connection.js';

/** Readings of Redis's clock taken to find how far this machine's clock is from it. */
const CLOCK_READINGS = 3;

/**
 * Finds how far Redis's clock is from this machine's: of a few readings of Redis's TIME,
 * the one with the shortest round trip, taken as read halfway through it (off by at most
 * half that round trip). Read once, when the group connects, before any deadline is held:
 * every deadline of a table is then translated alike (a reconnect keeps the offset).
 */
export async function readClockOffset(client: RedisLike): Promise<number> {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < CLOCK_READINGS; i++) {
    const sent = Date.now();
    const [seconds, micros] = await client.time();
    const received = Date.now();
    if (received - sent >= best) continue;
    best = received - sent;
    offset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
  }
  return offset;
}

/**
 * Whether Redis still holds the history this instance applied up to `applied`: the same
 * epoch, at least as many changes, and the same commit at `applied` (a Redis restarted
 * with an older data set, or a replica promoted while behind, has fewer changes or, once
 * written to, other ones under the same numbers). Returns Redis's last change number and,
 * if the history differs, why.
 */
export async function compareHistory(
  client: RedisLike,
  key: (name: string) => string,
  held: { epoch: string; commit: string | undefined; applied: number },
): Promise<{ seq: number; lost: string | undefined }> {
  const { commit, applied } = held;
  const results = await client
    .multi()
    .get(key('epoch'))
    .get(key('seq'))
    .xrange(key('log'), `0-${applied}`, `0-${applied}`)
    .exec();
  if (!results) throw new Error('the check transaction was aborted');
  const [epoch, seqText, entries] = results.map(([error, value]) => {
    if (error) throw error;
    return value;
  }) as [string | null, string | null, [string, string[]][]];
  const seq = Number(seqText ?? 0);
  if (epoch !== held.epoch)
    return { seq, lost: epoch === null ? 'its data set is gone' : 'it holds another data set' };
  if (seq < applied)
    return {
      seq,
      lost: `it reports change ${seq} as its last but this instance applied ${applied}`,
    };
  const entry = entries[0];
  if (entry && commit !== undefined && fieldOf(entry[1], 'c') !== commit)
    return { seq, lost: `its change ${applied} is not the one this instance applied` };
  return { seq, lost: undefined };
}
