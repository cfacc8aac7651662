// The "events" section (issue "change events and transactions"): what delivering changes
// costs a writer, and what a transaction costs over the same writes outside one.
//
// Writes are dirtyWrite (synchronous) calls, each replacing a record of 100,000 with a
// changed one (the age alternates between two values). Changes are delivered on the next
// turn of the event loop (setImmediate), so each chunk of writes ends by waiting until every
// change of the chunk was delivered to every listener; the baseline waits one turn too. Each
// configuration is its own Nest application (the listeners of one app would otherwise be
// counted against all its stores), all booted before the cases so that their rounds
// interleave.

import { sink } from './harness.mjs';
import { makeRecords, makeReplacements, shuffledKeys } from './data.mjs';
import { bootEventStores, OnEventListener, StoreEventListener } from './stores.mjs';
import { entry, formatMs, timeOnce } from './suite.mjs';

const N = 100_000;
/** Awaited writes per transaction (and per op of the outside-a-transaction baseline). */
const TX_SIZE = 10;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Waits until `received()` reaches `expected` (a few turns at most). */
async function delivered(received, expected) {
  for (let turns = 0; received() < expected; turns++) {
    if (turns > 1000) throw new Error(`only ${received()} of ${expected} changes were delivered`);
    await nextTurn();
  }
}

export async function runEvents(suite) {
  const size = N.toLocaleString('en-US');
  suite.section('events', `issue "change events and transactions" (${size} records)`);
  const writeGroup = suite.group(
    'dirtyWrite (sync) replacing a record, until its change was delivered to every listener',
    {
      comment:
        'one op = one dirtyWrite; each chunk of writes then waits for delivery (setImmediate)',
    },
  );
  const txWriteGroup = suite.group(
    `${TX_SIZE} awaited writes: in one transaction() vs one after another (one op = ${TX_SIZE} writes)`,
  );
  const txUpdateGroup = suite.group(
    `${TX_SIZE} read-modify-writes (get, then await update(key, { age })): in one transaction() vs ` +
      `outside (one op = ${TX_SIZE})`,
  );

  const records = makeRecords(N);
  const keys = shuffledKeys(records);
  const byId = new Map(records.map((r) => [r.id, r]));
  const changedById = new Map(makeReplacements(records).map((r) => [r.id, r]));
  /** Two versions of every record in the order of `keys`; writes alternate between them. */
  const versions = [keys.map((k) => changedById.get(k)), keys.map((k) => byId.get(k))];

  suite.progress('events: booting 6 Nest applications and loading their stores...');
  const [apps, bootMs] = await timeOnce(async () => ({
    plain: await bootEventStores(),
    one: await bootEventStores(),
    ten: await bootEventStores(),
    onStoreEvent: await bootEventStores({ providers: [StoreEventListener] }),
    bridgeOnly: await bootEventStores({ eventEmitter: true }),
    bridge: await bootEventStores({ eventEmitter: true, providers: [OnEventListener] }),
  }));
  for (const { store, other } of Object.values(apps)) {
    await store.writeMany(records);
    await other.writeMany(records);
  }
  await nextTurn(); // the loads' insert changes are delivered before anyone counts
  writeGroup.notes.push(`6 applications booted in ${formatMs(bootMs)}`);

  const counters = { one: 0, ten: 0 };
  const subscriptions = [apps.one.store.changes().subscribe(() => counters.one++)];
  for (let i = 0; i < 10; i++)
    subscriptions.push(apps.ten.store.changes().subscribe(() => counters.ten++));
  const onStoreEventBefore = StoreEventListener.received;
  const onEventBefore = OnEventListener.received;

  await suite.measure([
    entry(
      writeGroup,
      'no listener (app without EventEmitterModule, no changes() subscriber)',
      plainWrites(apps.plain.store, versions),
      { baseline: true },
    ),
    entry(
      writeGroup,
      '1 changes() subscriber',
      oneSubscriberWrites(apps.one.store, versions, () => counters.one),
    ),
    entry(
      writeGroup,
      '10 changes() subscribers',
      tenSubscriberWrites(apps.ten.store, versions, () => counters.ten),
    ),
    entry(
      writeGroup,
      'no listener of its own; another store of the app has 1 changes() subscriber',
      otherStoreWrites(apps.one.other, versions),
    ),
    entry(
      writeGroup,
      "1 @OnStoreEvent(store, 'update') listener",
      onStoreEventWrites(apps.onStoreEvent.store, versions, () => StoreEventListener.received),
    ),
    entry(
      writeGroup,
      'EventEmitterModule.forRoot() imported, no @OnEvent listener',
      bridgeOnlyWrites(apps.bridgeOnly.store, versions),
    ),
    entry(
      writeGroup,
      "EventEmitterModule.forRoot() + 1 @OnEvent('memory-store.event_people.update') listener",
      bridgeWrites(apps.bridge.store, versions, () => OnEventListener.received),
    ),
  ]);
  suite.check(StoreEventListener.received > onStoreEventBefore, '@OnStoreEvent received changes');
  suite.check(OnEventListener.received > onEventBefore, '@OnEvent received changes');
  for (const s of subscriptions) s.unsubscribe();

  const { store, memory } = apps.plain;
  // transaction() runs its function in an AsyncLocalStorage, whose first run turns on
  // Node's promise hooks for every promise of the process from then on: the same awaited
  // writes are measured once more before any transaction has run.
  await suite.measure([
    entry(
      txWriteGroup,
      `${TX_SIZE} x await store.write(record), no transaction, before the process ran any transaction()`,
      sequentialWritesBeforeAnyTransaction(store, versions),
      { note: 'measured first, alone' },
    ),
  ]);
  await suite.measure([
    entry(
      txWriteGroup,
      `${TX_SIZE} x await store.write(record), no transaction`,
      sequentialWrites(store, versions),
      { baseline: true },
    ),
    entry(
      txWriteGroup,
      `memory.transaction(async () => ${TX_SIZE} x await store.write(record))`,
      transactionWrites(memory, store, versions),
    ),
  ]);
  await suite.measure([
    entry(
      txUpdateGroup,
      `${TX_SIZE} x (get + await update), no transaction`,
      sequentialUpdates(store, keys),
      { baseline: true },
    ),
    entry(
      txUpdateGroup,
      `memory.transaction(async () => ${TX_SIZE} x (get + await update))`,
      transactionUpdates(memory, store, keys),
    ),
  ]);
  suite.check(store.size === N, 'events store size after the transactions');
  for (const { app } of Object.values(apps)) await app.close();
}

// ---- the cases, one function literal each (see cases.mjs) ---------------------------------

function plainWrites(store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    await nextTurn();
  };
}

function oneSubscriberWrites(store, versions, received) {
  let j = 0;
  let v = 0;
  let expected = received();
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    expected += n;
    await delivered(received, expected);
  };
}

function tenSubscriberWrites(store, versions, received) {
  let j = 0;
  let v = 0;
  let expected = received();
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    expected += 10 * n;
    await delivered(received, expected);
  };
}

function otherStoreWrites(store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    await nextTurn();
  };
}

function onStoreEventWrites(store, versions, received) {
  let j = 0;
  let v = 0;
  let expected = received();
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    expected += n;
    await delivered(received, expected);
  };
}

function bridgeOnlyWrites(store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    await nextTurn();
  };
}

function bridgeWrites(store, versions, received) {
  let j = 0;
  let v = 0;
  let expected = received();
  return async (n) => {
    for (let i = 0; i < n; i++) {
      store.dirtyWrite(versions[v][j]);
      if (++j === versions[v].length) {
        j = 0;
        v ^= 1;
      }
    }
    expected += n;
    await delivered(received, expected);
  };
}

function sequentialWrites(store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < TX_SIZE; w++) {
        await store.write(versions[v][j]);
        if (++j === versions[v].length) {
          j = 0;
          v ^= 1;
        }
      }
    }
  };
}

function sequentialWritesBeforeAnyTransaction(store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < TX_SIZE; w++) {
        await store.write(versions[v][j]);
        if (++j === versions[v].length) {
          j = 0;
          v ^= 1;
        }
      }
    }
  };
}

function transactionWrites(memory, store, versions) {
  let j = 0;
  let v = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      await memory.transaction(async () => {
        for (let w = 0; w < TX_SIZE; w++) {
          await store.write(versions[v][j]);
          if (++j === versions[v].length) {
            j = 0;
            v ^= 1;
          }
        }
      });
    }
  };
}

function sequentialUpdates(store, keys) {
  let j = 0;
  return async (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < TX_SIZE; w++) {
        const key = keys[j];
        const age = store.get(key).age;
        s += (await store.update(key, { age: age < 90 ? age + 1 : 18 })).age;
        if (++j === keys.length) j = 0;
      }
    }
    sink.value += s;
  };
}

function transactionUpdates(memory, store, keys) {
  let j = 0;
  return async (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += await memory.transaction(async () => {
        let t = 0;
        for (let w = 0; w < TX_SIZE; w++) {
          const key = keys[j];
          const age = store.get(key).age;
          t += (await store.update(key, { age: age < 90 ? age + 1 : 18 })).age;
          if (++j === keys.length) j = 0;
        }
        return t;
      });
    }
    sink.value += s;
  };
}
