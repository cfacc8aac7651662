import { AsyncResource } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { TableChange } from '../engine/memory-table.js';
import { errorMessage, isError } from '../errors/describe-value.js';
import { changeDiff } from './change-diff.js';
import type { StoreChange, StoreChangeOp } from './store-change.interface.js';

/** A function told of changes; a returned promise is awaited only to log its failure. */
export type ChangeHandler = (change: StoreChange) => unknown;

interface Listener {
  readonly table: string;
  readonly ops: ReadonlySet<StoreChangeOp> | undefined;
  readonly handler: ChangeHandler;
  /** Names the listener in logs: `Class.method`. */
  readonly name: string;
  /** Deliveries whose promise has not settled yet. */
  pending: number;
  warned: boolean;
}

/**
 * Whether anything receives one table's changes: its store asks before building a change,
 * so that a listener of one table does not make every other table's writes build theirs.
 */
export class TableInterest {
  /** Observers and listeners of the table. */
  watchers = 0;

  constructor(private readonly hub: ChangeHub) {}

  get active(): boolean {
    return this.watchers > 0 || this.hub.bridged;
  }
}

/** When a listener has this many unsettled deliveries, the hub warns (once per crossing). */
export const DEFAULT_HIGH_WATER_MARK = 10_000;

/**
 * Delivers committed changes of every store of an application, in commit order, once, after
 * the commit: to `store.changes()` observers, to `@OnStoreEvent()` listeners and to the
 * EventEmitter2 bridge. Changes queue while the writing code runs and are delivered on the
 * next turn of the event loop (`setImmediate`), so no listener runs inside a write or delays
 * the code awaiting it. A listener that throws or rejects is logged with the store's name
 * and changes nothing. Nothing queues while nobody listens.
 *
 * Deliveries run in the asynchronous context the hub was created in (at start-up), never in
 * the one of the code that published: a listener's writes do not join a transaction that
 * happened to publish first in that turn, nor see any other AsyncLocalStorage state of it.
 */
export class ChangeHub {
  readonly #logger = new Logger('MemoryStore');
  readonly #subjects = new Map<string, Subject<Queued>>();
  readonly #listeners: Listener[] = [];
  readonly #interest = new Map<string, TableInterest>();
  #bridge: ((event: string, change: StoreChange) => unknown) | undefined;
  #queue: Queued[] = [];
  /** How many changes were published: an observer gets only those after it subscribed. */
  #published = 0;
  #scheduled = false;
  /** The context deliveries run in: the hub's own, captured when it is created. */
  readonly #context = new AsyncResource('MemoryStoreChanges');
  readonly #drainInContext = () => this.#context.runInAsyncScope(() => this.#drain());

  constructor(private readonly highWaterMark = DEFAULT_HIGH_WATER_MARK) {}

  /** True while every change goes to the EventEmitter2 bridge. */
  get bridged(): boolean {
    return this.#bridge !== undefined;
  }

  /** What receives a table's changes (the same object for the table every time). */
  interestIn(table: string): TableInterest {
    let interest = this.#interest.get(table);
    if (!interest) this.#interest.set(table, (interest = new TableInterest(this)));
    return interest;
  }

  /** Queues a committed change of a table for delivery, if anything receives it. */
  publish(table: string, change: TableChange<object>, origin?: string): void {
    if (!this.interestIn(table).active) return;
    const { op, key, record, previous } = change;
    const seq = ++this.#published;
    this.#queue.push({
      seq,
      change: {
        table,
        op,
        key,
        record,
        previous,
        diff: record ? changeDiff(record, previous) : undefined,
        at: new Date(),
        origin,
      },
    });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drainInContext);
    }
  }

  /** Every change of a table, as it is delivered. */
  changes(table: string): Observable<StoreChange> {
    return new Observable<StoreChange>((subscriber) => {
      let subject = this.#subjects.get(table);
      if (!subject) this.#subjects.set(table, (subject = new Subject<Queued>()));
      const interest = this.interestIn(table);
      interest.watchers++;
      const since = this.#published;
      const subscription = subject.subscribe({
        next: ({ seq, change }) => {
          if (seq <= since) return;
          try {
            subscriber.next(change);
          } catch (error) {
            this.#fail(`An observer of changes()`, change, error); // never the process's problem
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        interest.watchers--;
      };
    });
  }

  /** Adds a listener of a table's changes (of some operations, or all). */
  listen(
    table: string,
    ops: readonly StoreChangeOp[] | undefined,
    handler: ChangeHandler,
    name: string,
  ): void {
    this.#listeners.push({
      table,
      ops: ops?.length ? new Set(ops) : undefined,
      handler,
      name,
      pending: 0,
      warned: false,
    });
    this.interestIn(table).watchers++;
  }

  /** Sends every change also as an event `memory-store.<table>.<op>` (EventEmitter2). */
  bridge(emit: (event: string, change: StoreChange) => unknown): void {
    this.#bridge = emit;
  }

  /** Unsettled deliveries per listener, for `MemoryStoreService.stats()`. */
  pending(): { listener: string; table: string; pending: number }[] {
    return this.#listeners
      .filter((l) => l.pending > 0)
      .map((l) => ({ listener: l.name, table: l.table, pending: l.pending }));
  }

  /** Delivers what is queued, then stops: observers complete, listeners are dropped. */
  close(): void {
    this.#drainInContext();
    for (const subject of this.#subjects.values()) subject.complete();
    this.#subjects.clear();
    for (const listener of this.#listeners) this.interestIn(listener.table).watchers--;
    this.#listeners.length = 0;
    this.#bridge = undefined;
  }

  #drain(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    for (const queued of queue) this.#deliver(queued);
  }

  #deliver(queued: Queued): void {
    const { change } = queued;
    this.#subjects.get(change.table)?.next(queued);
    for (const listener of this.#listeners) {
      if (listener.table !== change.table || (listener.ops && !listener.ops.has(change.op)))
        continue;
      this.#call(listener, change);
    }
    if (this.#bridge) {
      try {
        void this.#bridge(`memory-store.${change.table}.${change.op}`, change);
      } catch (error) {
        this.#fail(`the EventEmitter2 bridge`, change, error);
      }
    }
  }

  #call(listener: Listener, change: StoreChange): void {
    let result: unknown;
    try {
      result = listener.handler(change);
    } catch (error) {
      this.#fail(listener.name, change, error);
      return;
    }
    if (!isThenable(result)) return;
    listener.pending++;
    if (listener.pending >= this.highWaterMark && !listener.warned) {
      listener.warned = true;
      this.#logger.warn(
        `Listener ${listener.name} of table '${listener.table}' has ${listener.pending} unfinished deliveries: ` +
          'changes arrive faster than it handles them, and each waiting promise holds memory',
      );
    }
    result.then(
      () => this.#settled(listener),
      (error: unknown) => {
        this.#settled(listener);
        this.#fail(listener.name, change, error);
      },
    );
  }

  #settled(listener: Listener): void {
    listener.pending--;
    if (listener.warned && listener.pending < this.highWaterMark / 2) listener.warned = false;
  }

  #fail(who: string, change: StoreChange, error: unknown): void {
    const message = errorMessage(error);
    this.#logger.error(
      `${who} failed on ${change.op} of table '${change.table}'${change.key === undefined ? '' : ` (key ${typeof change.key === 'string' ? `'${change.key}'` : String(change.key)})`}: ${message}`,
      isError(error) ? error.stack : undefined,
    );
  }
}

/** A change waiting for delivery, numbered in publication order. */
interface Queued {
  readonly seq: number;
  readonly change: StoreChange;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
