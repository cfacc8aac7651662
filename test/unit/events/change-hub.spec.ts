import { describe, expect, it } from '@jest/globals';
import type { TableChange } from '../../../lib/engine/memory-table.js';
import { ChangeHub } from '../../../lib/events/change-hub.js';
import type { StoreChange } from '../../../lib/events/store-change.interface.js';

const insert = (key: string): TableChange<object> => ({
  op: 'insert',
  key,
  record: { id: key },
  previous: undefined,
});

/** One turn of the event loop: the hub delivers on setImmediate. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ChangeHub: which tables are listened to', () => {
  it('marks a table active only while it has an observer or a listener', async () => {
    const hub = new ChangeHub();
    const a = hub.interestIn('a');
    const b = hub.interestIn('b');
    expect(hub.interestIn('a')).toBe(a);
    expect([a.active, b.active]).toEqual([false, false]);

    const seen: StoreChange[] = [];
    const subscription = hub.changes('a').subscribe((change) => seen.push(change));
    expect([a.active, b.active]).toEqual([true, false]);
    hub.publish('a', insert('a1'));
    hub.publish('b', insert('b1'));
    await turn();
    expect(seen.map((c) => c.key)).toEqual(['a1']);

    subscription.unsubscribe();
    expect(a.active).toBe(false);

    const heard: StoreChange[] = [];
    hub.listen('b', ['insert'], (change) => heard.push(change), 'Test.onB');
    expect([a.active, b.active]).toEqual([false, true]);
    hub.publish('b', insert('b2'));
    await turn();
    expect(heard.map((c) => c.key)).toEqual(['b2']);

    hub.close();
    expect([a.active, b.active]).toEqual([false, false]);
  });

  it('marks every table active while the EventEmitter2 bridge is on', async () => {
    const hub = new ChangeHub();
    const events: string[] = [];
    hub.bridge((event) => events.push(event));
    expect(hub.interestIn('a').active).toBe(true);
    expect(hub.interestIn('never-seen').active).toBe(true);
    hub.publish('a', insert('a1'));
    await turn();
    expect(events).toEqual(['memory-store.a.insert']);
  });

  it('counts overlapping observers of one table', () => {
    const hub = new ChangeHub();
    const first = hub.changes('a').subscribe();
    const second = hub.changes('a').subscribe();
    first.unsubscribe();
    expect(hub.interestIn('a').active).toBe(true);
    second.unsubscribe();
    expect(hub.interestIn('a').active).toBe(false);
  });
});
