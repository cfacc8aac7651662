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
import { compileLoop } from './table.mjs';

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

  /** Every record's two versions, walked in turn: each write changes the record. */
  const writes = [...versions[0], ...versions[1]];
  /**
   * A case: dirtyWrite of the next version, each call's writes then waiting until
   * `received()` grew by `perWrite` per write (or, with no listener, one turn).
   */
  const writeCase = (label, store, received, perWrite = 1, extra = {}) => {
    let expected = received?.() ?? 0;
    const settle = received
      ? (n) => delivered(received, (expected += perWrite * n))
      : () => nextTurn();
    const run = compileLoop(`events ${label}`, (r) => store.dirtyWrite(r), writes, { settle });
    return entry(writeGroup, label, run, extra);
  };
  await suite.measure([
    writeCase(
      'no listener (app without EventEmitterModule, no changes() subscriber)',
      apps.plain.store,
      undefined,
      0,
      { baseline: true },
    ),
    writeCase('1 changes() subscriber', apps.one.store, () => counters.one),
    writeCase('10 changes() subscribers', apps.ten.store, () => counters.ten, 10),
    writeCase(
      'no listener of its own; another store of the app has 1 changes() subscriber',
      apps.one.other,
    ),
    writeCase(
      "1 @OnStoreEvent(store, 'update') listener",
      apps.onStoreEvent.store,
      () => StoreEventListener.received,
    ),
    writeCase('EventEmitterModule.forRoot() imported, no @OnEvent listener', apps.bridgeOnly.store),
    writeCase(
      "EventEmitterModule.forRoot() + 1 @OnEvent('memory-store.event_people.update') listener",
      apps.bridge.store,
      () => OnEventListener.received,
    ),
  ]);
  suite.check(StoreEventListener.received > onStoreEventBefore, '@OnStoreEvent received changes');
  suite.check(OnEventListener.received > onEventBefore, '@OnEvent received changes');
  for (const s of subscriptions) s.unsubscribe();

  const { store, memory } = apps.plain;
  /** TX_SIZE writes (or keys) per op, in order. */
  const inTens = (list) =>
    Array.from({ length: Math.floor(list.length / TX_SIZE) }, (_, i) =>
      list.slice(i * TX_SIZE, (i + 1) * TX_SIZE),
    );
  const writeTens = inTens(writes);
  const keyTens = inTens(keys);
  const txCase = (group, label, op, inputs, extra) =>
    entry(group, label, compileLoop(`events ${label}`, op, inputs, { mode: 'await' }), extra);
  const nextAge = (age) => (age < 90 ? age + 1 : 18);

  // transaction() runs its function in an AsyncLocalStorage, whose first run turns on
  // Node's promise hooks for every promise of the process from then on: the same awaited
  // writes are measured once more before any transaction has run.
  await suite.measure([
    txCase(
      txWriteGroup,
      `${TX_SIZE} x await store.write(record), no transaction, before the process ran any transaction()`,
      async (tens) => {
        for (const r of tens) await store.write(r);
      },
      writeTens,
      { note: 'measured first, alone' },
    ),
  ]);
  await suite.measure([
    txCase(
      txWriteGroup,
      `${TX_SIZE} x await store.write(record), no transaction`,
      async (tens) => {
        for (const r of tens) await store.write(r);
      },
      writeTens,
      { baseline: true },
    ),
    txCase(
      txWriteGroup,
      `memory.transaction(async () => ${TX_SIZE} x await store.write(record))`,
      (tens) =>
        memory.transaction(async () => {
          for (const r of tens) await store.write(r);
        }),
      writeTens,
    ),
  ]);
  await suite.measure([
    txCase(
      txUpdateGroup,
      `${TX_SIZE} x (get + await update), no transaction`,
      async (tens) => {
        let t = 0;
        for (const key of tens) {
          t += (await store.update(key, { age: nextAge(store.get(key).age) })).age;
        }
        sink.value += t;
      },
      keyTens,
      { baseline: true },
    ),
    txCase(
      txUpdateGroup,
      `memory.transaction(async () => ${TX_SIZE} x (get + await update))`,
      async (tens) => {
        sink.value += await memory.transaction(async () => {
          let t = 0;
          for (const key of tens) {
            t += (await store.update(key, { age: nextAge(store.get(key).age) })).age;
          }
          return t;
        });
      },
      keyTens,
    ),
  ]);
  suite.check(store.size === N, 'events store size after the transactions');
  for (const { app } of Object.values(apps)) await app.close();
}
