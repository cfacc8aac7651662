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

// ---- the query section's records ----------------------------------------------------------

/** 1,000 distinct city names, shared by every record (one string per value, as in real data). */
export const CITIES = Array.from({ length: 1000 }, (_, i) => `c${String(i).padStart(3, '0')}`);
/** Scores are integers in [0, SCORE_RANGE). */
export const SCORE_RANGE = 1_000_000;

/**
 * `count` records for the query cases: department (10 values), city (1,000 values), score
 * (an integer in [0, 1,000,000), nearly unique), age (50 values), active, email.
 */
export function makeQueryRecords(count, seed = 4242) {
  const random = prng(seed);
  const records = new Array(count);
  const width = String(count - 1).length;
  for (let i = 0; i < count; i++) {
    records[i] = {
      id: `q${String(i).padStart(width, '0')}`,
      department: DEPARTMENTS[Math.floor(random() * DEPARTMENTS.length)],
      city: CITIES[Math.floor(random() * CITIES.length)],
      score: Math.floor(random() * SCORE_RANGE),
      age: 18 + Math.floor(random() * 50),
      active: random() < 0.7,
      email: `user${i}@example.com`,
    };
  }
  return records;
}
