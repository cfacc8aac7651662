import type { RecordKey } from '../interfaces/table-options.interface.js';

/** Keys a check looks up (records of a batch that an eviction must spare). */
export interface KeysHeld {
  has(key: RecordKey): boolean;
}

/** Sub-maps of a `ShardedKeyMap`. */
const SHARDS = 64;
/** Slots of the table from a key's hash to its shard. */
const SLOTS = 1024;

/**
 * Which shard a hash slot goes to. The shards get unequal shares (from 1 to about 2 × the
 * smallest): equal shares fill the shards in lockstep, and they would all double their tables
 * within the same few writes. Unequal, shard after shard crosses its next power of two at a
 * different size of the whole, spread over each doubling.
 */
const SHARD_OF_SLOT = (() => {
  const slots = new Uint8Array(SLOTS);
  const weights = Array.from({ length: SHARDS }, (_, s) => 1 + s / (SHARDS - 1));
  const total = weights.reduce((sum, w) => sum + w, 0);
  let slot = 0;
  let share = 0;
  for (let s = 0; s < SHARDS; s++) {
    share += (weights[s] / total) * SLOTS;
    for (; slot < Math.round(share); slot++) slots[slot] = s;
  }
  return slots;
})();

/**
 * A key's hash (all its characters, or its integer part, mixed): the top bits pick a slot.
 * Every character counts: keys that share a suffix (`…-session`, `….json`), a prefix, or
 * both must still spread over the parts (V8 hashes the whole string for the Map anyway).
 */
function shardOf(key: RecordKey): number {
  let h: number;
  if (typeof key === 'number') h = Math.imul((key | 0) ^ 0x5bd1e995, 0x9e3779b1);
  else {
    h = key.length;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x9e3779b1);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return SHARD_OF_SLOT[(h ^ (h >>> 13)) >>> 22];
}

/**
 * A map from record keys, split over `SHARDS` maps. A JavaScript `Map` doubles its hash
 * table when it fills, rehashing every entry in one step: at a million keys that one `set`
 * takes 50–250 ms, a pause no slicing can cut. Split, each part rehashes one or two
 * hundredths of the entries, at its own moment (see `SHARD_OF_SLOT`).
 */
export class ShardedKeyMap<V> implements KeysHeld {
  readonly #shards = Array.from({ length: SHARDS }, () => new Map<RecordKey, V>());
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** How many keys each part holds (each rehashes when its own count doubles). */
  get shardSizes(): number[] {
    return this.#shards.map((shard) => shard.size);
  }

  get(key: RecordKey): V | undefined {
    return this.#shards[shardOf(key)].get(key);
  }

  has(key: RecordKey): boolean {
    return this.#shards[shardOf(key)].has(key);
  }

  set(key: RecordKey, value: V): this {
    const shard = this.#shards[shardOf(key)];
    const before = shard.size;
    shard.set(key, value);
    this.#size += shard.size - before;
    return this;
  }
}
