// The benchmark cases. Each factory returns `run(n)`, which performs n operations.
//
// Every case is written out as its own loop on purpose: a shared helper loop would share
// one call site (and its type feedback) between implementations, making its calls
// megamorphic and all implementations look alike. A separate function literal per case
// keeps each one optimised for itself. Each case walks `keys` (a shuffled order of every
// key) from where its previous round stopped; `repl[j]` is the replacement record for
// `keys[j]`.

import { sink } from './harness.mjs';

/** Promise-returning calls issued, un-awaited, before each `await Promise.all`. */
export const BATCH = 1000;

const age = (i) => 18 + (i & 63);

/** Marks a batching case: the harness then calls it with whole batches only. */
const batched = (run) => Object.assign(run, { minChunk: BATCH });

// ---- get ----------------------------------------------------------------------------------

export function mapGet(map, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += map.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

export function storeGet(store, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += store.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

export function lruGet(lru, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += lru.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

export function nodeCacheGet(cache, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += cache.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

export function nodeCacheCloneGet(cache, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += cache.get(keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

export function lokiGet(coll, keys) {
  let j = 0;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += coll.by('id', keys[j]).age;
      if (++j === keys.length) j = 0;
    }
    sink.value += s;
  };
}

// ---- write: replace an existing record ---------------------------------------------------

export function mapSet(map, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      map.set(r.id, r);
      if (++j === repl.length) j = 0;
    }
  };
}

export function mapSetFrozenCopy(map, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      map.set(r.id, Object.freeze({ ...r }));
      if (++j === repl.length) j = 0;
    }
  };
}

/** Map.set behind a promise, awaited one at a time: what the promise protocol alone costs. */
export function mapSetAwaited(map, repl) {
  let j = 0;
  const set = async (r) => {
    map.set(r.id, r);
    return r;
  };
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await set(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

/**
 * A hand-written copying write behind a promise, awaited one at a time: `copy` makes a frozen
 * instance of the record's class, stored with Map.set. The least a store that copies and
 * freezes what it stores, and answers with a promise, does per write.
 */
export function mapSetCopyAwaited(map, repl, copy) {
  let j = 0;
  const set = async (r) => {
    const record = copy(r);
    map.set(record.id, record);
    return record;
  };
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await set(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

/**
 * The same copy, stored with Map.set and in a hand-built index on department
 * (`Map<department, Map<key, record>>`): the old record's department is read to find its
 * bucket, as any index must, and the bucket's entry replaced.
 */
export function mapSetCopyIndexed(map, buckets, repl, copy) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const record = copy(repl[j]);
      const previous = map.get(record.id);
      map.set(record.id, record);
      if (previous.department === record.department) {
        buckets.get(record.department).set(record.id, record);
      } else {
        buckets.get(previous.department).delete(record.id);
        buckets.get(record.department).set(record.id, record);
      }
      if (++j === repl.length) j = 0;
    }
  };
}

export function storeDirtyWrite(store, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

export function indexedStoreDirtyWrite(store, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

export function validatedStoreDirtyWrite(store, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

export function storeWriteBatch(store, repl) {
  let j = 0;
  return batched(async (n) => {
    for (let done = 0; done < n;) {
      const m = Math.min(BATCH, n - done);
      const pending = new Array(m);
      for (let i = 0; i < m; i++) {
        pending[i] = store.write(repl[j]);
        if (++j === repl.length) j = 0;
      }
      await Promise.all(pending);
      done += m;
    }
  });
}

export function validatedStoreWriteBatch(store, repl) {
  let j = 0;
  return batched(async (n) => {
    for (let done = 0; done < n;) {
      const m = Math.min(BATCH, n - done);
      const pending = new Array(m);
      for (let i = 0; i < m; i++) {
        pending[i] = store.write(repl[j]);
        if (++j === repl.length) j = 0;
      }
      await Promise.all(pending);
      done += m;
    }
  });
}

export function storeWriteSequential(store, repl) {
  let j = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await store.write(repl[j]);
      if (++j === repl.length) j = 0;
    }
  };
}

export function lruSet(lru, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      lru.set(r.id, r);
      if (++j === repl.length) j = 0;
    }
  };
}

export function nodeCacheSet(cache, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      cache.set(r.id, r);
      if (++j === repl.length) j = 0;
    }
  };
}

export function nodeCacheCloneSet(cache, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      cache.set(r.id, r);
      if (++j === repl.length) j = 0;
    }
  };
}

/** Loki has no upsert: replace the stored document by a new one carrying its $loki and meta. */
export function lokiReplace(coll, repl) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const r = repl[j];
      const old = coll.by('id', r.id);
      coll.update({ ...r, $loki: old.$loki, meta: old.meta });
      if (++j === repl.length) j = 0;
    }
  };
}

// ---- update(key, patch) --------------------------------------------------------------------

export function mapUpdate(map, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      map.set(k, { ...map.get(k), age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function storeDirtyUpdate(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyUpdate(keys[j], { age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function validatedStoreDirtyUpdate(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyUpdate(keys[j], { age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function storeUpdateBatch(store, keys) {
  let j = 0;
  return batched(async (n) => {
    for (let done = 0; done < n;) {
      const m = Math.min(BATCH, n - done);
      const pending = new Array(m);
      for (let i = 0; i < m; i++) {
        pending[i] = store.update(keys[j], { age: age(i) });
        if (++j === keys.length) j = 0;
      }
      await Promise.all(pending);
      done += m;
    }
  });
}

export function storeUpdateSequential(store, keys) {
  let j = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await store.update(keys[j], { age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function lruUpdate(lru, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      lru.set(k, { ...lru.get(k), age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function nodeCacheUpdate(cache, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      cache.set(k, { ...cache.get(k), age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

export function nodeCacheCloneUpdate(cache, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      cache.set(k, { ...cache.get(k), age: age(i) });
      if (++j === keys.length) j = 0;
    }
  };
}

/** Loki's idiom: documents are mutable; change the field, then tell the collection. */
export function lokiUpdate(coll, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const doc = coll.by('id', keys[j]);
      doc.age = age(i);
      coll.update(doc);
      if (++j === keys.length) j = 0;
    }
  };
}

// ---- delete + re-insert ----------------------------------------------------------------------

export function mapCycle(map, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      const r = map.get(k);
      map.delete(k);
      map.set(k, r);
      if (++j === keys.length) j = 0;
    }
  };
}

export function storeDirtyCycle(store, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyInsert(store.dirtyDelete(keys[j]));
      if (++j === keys.length) j = 0;
    }
  };
}

export function storeCycleBatch(store, keys) {
  let j = 0;
  return batched(async (n) => {
    for (let done = 0; done < n;) {
      const m = Math.min(BATCH, n - done);
      const pending = new Array(2 * m);
      for (let i = 0; i < m; i++) {
        const k = keys[j];
        const r = store.get(k);
        pending[2 * i] = store.delete(k);
        pending[2 * i + 1] = store.insert(r);
        if (++j === keys.length) j = 0;
      }
      await Promise.all(pending);
      done += m;
    }
  });
}

export function storeCycleSequential(store, keys) {
  let j = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await store.insert(await store.delete(keys[j]));
      if (++j === keys.length) j = 0;
    }
  };
}

export function lruCycle(lru, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      const r = lru.get(k);
      lru.delete(k);
      lru.set(k, r);
      if (++j === keys.length) j = 0;
    }
  };
}

export function nodeCacheCycle(cache, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      const r = cache.get(k);
      cache.del(k);
      cache.set(k, r);
      if (++j === keys.length) j = 0;
    }
  };
}

export function nodeCacheCloneCycle(cache, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const k = keys[j];
      const r = cache.get(k);
      cache.del(k);
      cache.set(k, r);
      if (++j === keys.length) j = 0;
    }
  };
}

export function lokiCycle(coll, keys) {
  let j = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const doc = coll.by('id', keys[j]);
      coll.remove(doc);
      coll.insert(doc);
      if (++j === keys.length) j = 0;
    }
  };
}

// ---- select { department: 'd3', active: true } -------------------------------------------

export function arrayFilter(array) {
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += array.filter((r) => r.department === 'd3' && r.active === true).length;
    }
    sink.value += s;
  };
}

export function storeSelectScan(store) {
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += store.select({ department: 'd3', active: true }).length;
    sink.value += s;
  };
}

/** A hand-built secondary index `Map<department, Set<key>>` over the baseline Map. */
export function handIndexSelect(deptIndex, map) {
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const out = [];
      for (const k of deptIndex.get('d3')) {
        const r = map.get(k);
        if (r.active === true) out.push(r);
      }
      s += out.length;
    }
    sink.value += s;
  };
}

export function storeSelectIndexed(store) {
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += store.select({ department: 'd3', active: true }).length;
    sink.value += s;
  };
}

export function lokiFind(coll) {
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += coll.find({ department: 'd3', active: true }).length;
    sink.value += s;
  };
}
