/**
 * Type tests for the cache API: `fetch`'s result follows its loader, sliding TTLs, and the
 * Keyv adapter's store. Never run: `tsc -p tsconfig.json` type-checks it (lines marked
 * `@ts-expect-error` must fail to compile).
 */
import {
  MemoryStore,
  memoryStoreKeyv,
  type MemoryStoreKeyv,
  type RecordKey,
} from 'nestjs-memory-store';

/** True when `A` and `B` are the same type. */
type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

class Profile {
  id!: string;
  name = '';
  age = 0;
}
class ProfilesStore extends MemoryStore<Profile> {}

class CacheEntry {
  key!: string;
  value: unknown;
}
class CacheStore extends MemoryStore<CacheEntry> {}

declare function load(key: RecordKey): Promise<Profile>;
declare function maybe(key: RecordKey): Promise<Profile | undefined>;

// fetch resolves to the record when the loader always returns one, else record | undefined.
export type FetchResults = [
  Expect<Equal<Awaited<ReturnType<typeof fetchAlways>>, Profile>>,
  Expect<Equal<Awaited<ReturnType<typeof fetchMaybe>>, Profile | undefined>>,
  Expect<Equal<Awaited<ReturnType<typeof fetchPatch>>, Profile>>,
];
export const fetchAlways = (profiles: ProfilesStore) => profiles.fetch('p1', load, { ttl: '5m' });
export const fetchMaybe = (profiles: ProfilesStore) => profiles.fetch('p1', maybe);
// a loader may leave out the key and give some of the fields
export const fetchPatch = (profiles: ProfilesStore) =>
  profiles.fetch('p1', () => ({ name: 'Ada' }));

export async function fetches(profiles: ProfilesStore): Promise<void> {
  // @ts-expect-error the loader's record is checked against the table
  await profiles.fetch('p1', () => ({ nmae: 'Ada' }));
  // @ts-expect-error staleWhileRevalidate is a duration
  await profiles.fetch('p1', load, { ttl: '1m', staleWhileRevalidate: 'soon' });
  await profiles.fetch('p1', load, { ttl: { sliding: true, duration: '10m' } });
  await profiles.fetch('p1', load, { signal: AbortSignal.timeout(100) });
}

export async function sliding(profiles: ProfilesStore): Promise<void> {
  await profiles.write({ id: 'p1' }, { ttl: { sliding: true, duration: '30m' } });
  // @ts-expect-error sliding must be true
  await profiles.write({ id: 'p1' }, { ttl: { sliding: false, duration: '30m' } });
  // @ts-expect-error the duration is required
  await profiles.write({ id: 'p1' }, { ttl: { sliding: true } });
  const renewed: boolean = profiles.touch('p1');
  void renewed;
}

export function keyv(cache: CacheStore): MemoryStoreKeyv[] {
  // @ts-expect-error a Keyv store's table needs a value field
  memoryStoreKeyv(ProfilesStore);
  return [memoryStoreKeyv(CacheStore), memoryStoreKeyv(cache)];
}
