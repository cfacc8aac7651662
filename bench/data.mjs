// Deterministic test data shared by every implementation in the benchmark.

export const RECORD_COUNT = 100_000;
export const DEPARTMENTS = Array.from({ length: 10 }, (_, i) => `d${i}`);

/** The predicate of the query every select/find case runs: { department: 'd3', active: true }. */
export const matchesQuery = (r) => r.department === 'd3' && r.active === true;

/** A small seeded PRNG (mulberry32) so every run uses the same data and access order. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` plain records: id (string key), department (10 values), age, active, email. */
export function makeRecords(count = RECORD_COUNT, seed = 42) {
  const random = prng(seed);
  const records = new Array(count);
  for (let i = 0; i < count; i++) {
    records[i] = {
      id: `u${String(i).padStart(6, '0')}`,
      department: DEPARTMENTS[Math.floor(random() * DEPARTMENTS.length)],
      age: 18 + Math.floor(random() * 50),
      active: random() < 0.7,
      email: `user${i}@example.com`,
    };
  }
  return records;
}

/**
 * Replacement records for `write` cases: same key, department, active flag and email, a
 * different age. Writing them never changes what the `select` cases match.
 */
export function makeReplacements(records) {
  return records.map((r) => ({ ...r, age: r.age + 1 }));
}

/** The records' keys in a seeded random order: the access pattern of every keyed case. */
export function shuffledKeys(records, seed = 7) {
  const random = prng(seed);
  const keys = records.map((r) => r.id);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  return keys;
}
