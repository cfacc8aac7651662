import { Logger } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { MemoryTable, ReplicatedChange, TtlSetting } from '../engine/memory-table.js';
import { isError } from '../errors/describe-value.js';
import { DuplicateKeyError } from '../errors/duplicate-key.error.js';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { ReplicationUnavailableError } from '../errors/replication-unavailable.error.js';
import { ReplicationWaitError } from '../errors/replication-wait.error.js';
import { StoreCapacityError } from '../errors/store-capacity.error.js';
import type { ReplicationOptions } from '../interfaces/memory-store-module-options.interface.js';
import type { RecordKey } from '../interfaces/table-options.interface.js';
import { decodeValue, encodeValue } from '../persistence/value-codec.js';
import type { TableTransaction } from '../transactions/transaction.js';
import type { Revive, TableSnapshot } from './table-snapshot.js';
import { readSnapshot, type Snapshot } from './snapshot-read.js';
import {
  COMMIT_SCRIPT,
  COUNTER_SCRIPT,
  EPOCH_SCRIPT,
  EXPIRE_SCRIPT,
  SCAN_SCRIPT,
  SNAPSHOT_SCRIPT,
} from './scripts.js';
import { lockSnapshot, snapshotKey, unlockSnapshot, writeSnapshot } from './snapshot-write.js';
import { connectRedis, type RedisLike } from './redis-connection.js';
import { ApplyWaiters } from './apply-waiters.js';
import { type LogChange, readEntry } from './log-entry.js';
import { compareHistory, readClockOffset } from './redis-history.js';
import { BATCH_PART, batchRequest, commitRequest, PartSizer, putOp } from './commit-request.js';
import { registerReplica, TableReplica } from './table-replica.js';
import type { CommitMode, ReplicationState, ReplicationStatus } from './replication-status.js';

export type { CommitMode, ReplicationState, ReplicationStatus } from './replication-status.js';
export { replicaOf, TableReplica } from './table-replica.js';
import { fieldOf, findCommit, seqOf } from './commit-outcome.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a group spans tables of every record type
type AnyTable = MemoryTable<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- views of tables of every record type
type AnyView = TableTransaction<any>;

/** Records per table that a sweep asks Redis to expire at most, per call. */
const EXPIRE_BATCH = 10_000;
const XREAD_BLOCK_MS = 2_000;
/** Reads of a snapshot before a load gives up (each one met a loss or a trimmed log). */
const SNAPSHOT_ATTEMPTS = 5;
const XREAD_COUNT = 1_000;
/**
 * About how many bytes of log one read asks for: entries of large batches (500 records
 * each) are read fewer at a time, so that Redis does not stall building one huge reply.
 */
const XREAD_BYTES = 1 << 20;

/**
 * The replicated stores of one application that share a Redis server and key prefix: one
 * connection for commands, one that follows the replication log (a Redis Stream), and the
 * order in which every instance applies changes. Writes are decided by Lua scripts in Redis
 * (checks and change together, atomically), appended to the log, and applied here when the
 * log delivers them — on the instance that made them as on every other.
 */
export class ReplicationGroup {
  readonly instanceId: string;
  readonly #options: ReplicationOptions;
  readonly #base: string;
  readonly #logger = new Logger('MemoryStoreReplication');
  readonly #replicas = new Map<string, TableReplica>();
  /** Writes waiting to be applied here, and the hold on the follower. */
  readonly #waiters = new ApplyWaiters();
  /** Records this instance committed, by commit id, so that it stores the very objects it returned. */
  readonly #pending = new Map<string, Map<AnyTable, Map<RecordKey, object>>>();
  #client: RedisLike | undefined;
  #reader: RedisLike | undefined;
  #connecting: Promise<void> | undefined;
  #state: ReplicationState = 'connecting';
  #applied = 0;
  #commits = 0;
  #following = false;
  #expiring: Promise<number> | undefined;
  /** How long the last commit script took, from sending it to its reply (ms). */
  #scriptMs = 0;
  /** The epoch of the data set this instance holds (see scripts.ts); '' before the first load. */
  #epoch = '';
  /** The commit id of the last log entry applied (or loaded), to tell the same history from another. */
  #lastCommit: string | undefined;
  /** Holds the follower from a disconnect until Redis is found to hold what was applied. */
  #downHold: (() => void) | undefined;
  /** Entries the next read of the log asks for (fewer when entries are large). */
  #readCount = XREAD_COUNT;
  /** The id of the last entry of `{P}:epochs` when the data set loaded ('0-0': none). */
  #epochMark = '0-0';
  /** The log connection's client id in Redis (for CLIENT UNBLOCK). */
  #readerId: number | undefined;
  /** A reload after Redis lost data, while one runs. */
  #reloading: Promise<void> | undefined;
  /**
   * Redis's clock minus this machine's, in ms: deadlines are set by Redis's clock (in the
   * scripts) and kept here by this machine's, which the table reads to check them.
   */
  #clockOffset = 0;

  constructor(options: ReplicationOptions, instanceId: string) {
    this.#options = options;
    this.instanceId = options.instanceId ?? instanceId;
    this.#base = `{${options.prefix ?? 'nestjs-memory-store'}}`;
  }

  /** A name for this process, unique enough among the instances of an application. */
  static defaultInstanceId(): string {
    return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  get status(): ReplicationStatus {
    return { state: this.#state, instanceId: this.instanceId, appliedSeq: this.#applied };
  }

  /**
   * Told, while metrics are timed, how long each log entry took from its commit in Redis to
   * being applied here, in seconds (by Redis's clock, through the offset read at connect).
   */
  applyRecorder: ((seconds: number) => void) | undefined;

  /** How many changes of the replication log this instance has yet to apply (asks Redis). */
  async lag(): Promise<number> {
    const head = Number((await this.#command().get(this.#key('seq'))) ?? 0);
    return Math.max(0, head - this.#applied);
  }

  // ---- start -------------------------------------------------------------------------

  /**
   * Makes a table a replica: connects (the first time), loads the table's records, deadlines
   * and counters from Redis, and from then on applies the log's changes to it.
   */
  async attach(table: AnyTable, maxRecords: number | undefined): Promise<TableReplica> {
    if (this.#replicas.has(table.name)) {
      throw new MemoryStoreError(`Table '${table.name}' is already replicated`, table.name);
    }
    await (this.#connecting ??= this.#connect(table.name));
    const replica = new TableReplica(table, this, maxRecords);
    const release = this.#hold();
    try {
      // The follower applies nothing while the gate is held, so it stands at or before the
      // snapshot: it will skip this table's changes up to the snapshot and apply the rest.
      const { seq, tables, epoch, lastCommit, mark } = await this.#snapshot([table]);
      if (this.#following && epoch !== this.#epoch) {
        // Redis lost its data since the tables before this one loaded: they reload too
        release();
        await this.#reload(`its data set changed while '${table.name}' loaded`);
        return this.attach(table, maxRecords);
      }
      this.#load(replica, tables.get(table.name)!, seq);
      if (!this.#following) {
        this.#applied = seq;
        this.#epoch = epoch;
        this.#lastCommit = lastCommit;
        this.#epochMark = mark;
      }
      this.#replicas.set(table.name, replica);
      registerReplica(table, replica);
    } finally {
      release();
    }
    if (!this.#following) {
      this.#following = true;
      this.#state = 'ready';
      void this.#follow();
    }
    return replica;
  }

  async #connect(tableName: string): Promise<void> {
    const { client, reader } = await connectRedis(this.#options, tableName, {
      commit: COMMIT_SCRIPT,
      expire: EXPIRE_SCRIPT,
      counter: COUNTER_SCRIPT,
      epoch: EPOCH_SCRIPT,
      scan: SCAN_SCRIPT,
      snapshot: SNAPSHOT_SCRIPT,
    });
    this.#client = client;
    this.#reader = reader;
    client.on('close', () => this.#down());
    client.on('ready', () => void this.#up());
    const identify = () =>
      reader.client('ID').then(
        (id) => (this.#readerId = Number(id)),
        () => (this.#readerId = undefined),
      );
    reader.on('ready', () => void identify());
    await identify();
    this.#clockOffset = await readClockOffset(this.#command());
  }

  /** A deadline from Redis (its clock) as this machine's clock reads it. */
  #localDeadline(deadline: number | null): number | null {
    return deadline === null ? null : Math.round(deadline - this.#clockOffset);
  }

  #load(replica: TableReplica, snapshot: TableSnapshot, seq: number): void {
    replica.table.restoreBuilt(snapshot.rows, []);
    replica.adopt(snapshot, seq);
  }

  /**
   * Every named table as Redis holds it, and the log number it holds them at, read in parts
   * (see `readSnapshot`): no command holds Redis longer than a part. Read again when Redis
   * lost its data or trimmed the log meanwhile, SNAPSHOT_ATTEMPTS times at most.
   */
  async #snapshot(tables: readonly AnyTable[]): Promise<Snapshot> {
    const revivers = new Map<string, Revive>(
      tables.map((table) => [
        table.name,
        (key, fields) => table.reviveStored(key, fields) as object,
      ]),
    );
    for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt++) {
      // the first instance to load a data set (a new one, or what is left after a loss) names it
      await this.#command().msEpoch(this.#base, randomBytes(8).toString('hex'));
      const snapshot = await readSnapshot(
        this.#command(),
        {
          base: this.#base,
          key: (name) => this.#key(name),
          table: (t, name) => this.#table(t, name),
        },
        revivers,
        (deadline) => this.#localDeadline(deadline)!,
        (line) => this.#logger.log(line),
      );
      if (snapshot) return snapshot;
    }
    throw this.#unavailable(
      tables[0]?.name ?? '',
      `no consistent snapshot in ${SNAPSHOT_ATTEMPTS} reads: Redis lost its data or trimmed ` +
        'the replication log (logLength) while the tables loaded, each time',
    );
  }

  // ---- following the log -------------------------------------------------------------

  async #follow(): Promise<void> {
    const reader = this.#reader!;
    while (!this.#ended) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = await reader.xread(
          'COUNT',
          this.#readCount,
          'BLOCK',
          XREAD_BLOCK_MS,
          'STREAMS',
          this.#key('log'),
          this.#key('epochs'),
          `0-${this.#applied}`,
          this.#epochMark,
        );
      } catch {
        if (this.#ended) return;
        await whenReady(reader);
        continue;
      }
      await this.#waiters.released();
      if (this.#ended) continue;
      if (!reply) {
        // Nothing new for a while: a data set lost without a disconnect (FLUSHALL) shows here
        // when no one writes (a write meets the loss in its script, a new entry by its epoch).
        await this.#checkEpoch(reader);
        this.#snapshotWhenDue(true);
        continue;
      }
      const named = reply.find(([key]) => key === this.#key('epochs'));
      if (named) {
        // another instance named a new data set: Redis lost this one
        const held = this.#epoch;
        await this.#checkEpoch(reader);
        if (this.#epoch === held) this.#epochMark = named[1][named[1].length - 1][0];
        continue;
      }
      const entries = reply[0][1];
      let bytes = 0;
      for (const [, fields] of entries) bytes += (fieldOf(fields, 'd') ?? '').length;
      this.#readCount = Math.max(
        1,
        Math.min(XREAD_COUNT, Math.floor((XREAD_BYTES * entries.length) / Math.max(1, bytes))),
      );
      for (const entry of entries) {
        const seq = seqOf(entry[0]);
        const epoch = fieldOf(entry[1], 'e');
        if (epoch !== undefined && epoch !== this.#epoch) {
          await this.#reload(
            `the replication log holds entries of another data set (${epoch})`,
          ).catch(() => undefined); // Redis went away meanwhile: the reconnect compares again
          break;
        }
        if (seq <= this.#applied) continue;
        if (seq !== this.#applied + 1) {
          this.#logger.warn(
            `Missed replication log entries ${this.#applied + 1}…${seq - 1} (trimmed): reloading every replicated store`,
          );
          await this.#resync();
          break;
        }
        try {
          this.#applyEntry(entry);
        } catch (error) {
          this.#logger.error(
            `Could not apply replication log entry ${seq}: ${(error as Error).message}; reloading from Redis`,
            (error as Error).stack,
          );
          await this.#resync();
          break;
        }
        this.#applied = seq;
      }
      this.#wake();
    }
  }

  /** Applies a log entry (only to `only`, when given). */
  #applyEntry(entry: [string, string[]], only?: string): void {
    const { seq, origin, commit, data, committedAt } = readEntry(entry);
    if (only === undefined) this.#lastCommit = commit;
    const pending =
      origin === this.instanceId && commit !== undefined ? this.#pending.get(commit) : undefined;
    const byTable = new Map<string, ReplicatedChange<object>[]>();
    for (const change of JSON.parse(data) as LogChange[]) {
      const name = change[1];
      if (only !== undefined && name !== only) continue;
      const replica = this.#replicas.get(name);
      if (!replica || replica.loadedAt >= seq) continue;
      if (change[0] === 'n') {
        replica.table.counters.restore([[change[2], change[3]]]);
        continue;
      }
      let list = byTable.get(name);
      if (!list) byTable.set(name, (list = []));
      if (change[0] === 'p') {
        const key = change[2];
        const record: object =
          pending?.get(replica.table)?.get(key) ??
          (replica.table.revive(decodeValue(change[3]) as object, key) as object);
        list.push({ key, record, deadline: this.#localDeadline(change[4]), op: 'update' });
      } else {
        list.push({ key: change[2], op: change[0] === 'e' ? 'expire' : 'delete' });
      }
    }
    for (const [name, changes] of byTable) this.#replicas.get(name)!.apply(seq, origin, changes);
    if (this.applyRecorder && committedAt !== undefined && only === undefined) {
      // Redis's clock at the commit (µs), against this machine's read as Redis's
      const seconds = (Date.now() + this.#clockOffset) / 1000 - Number(committedAt) / 1e6;
      this.applyRecorder(Math.max(0, seconds));
    }
  }

  /**
   * Reloads every table from Redis, reporting the differences as changes. After a loss
   * (`lost`), log numbers restart or belong to another history, so records are compared by
   * content rather than by version.
   */
  async #resync(lost = false): Promise<void> {
    const release = this.#hold();
    try {
      const names = [...this.#replicas.keys()];
      const { seq, tables, epoch, lastCommit, mark } = await this.#snapshot(
        names.map((name) => this.#replicas.get(name)!.table),
      );
      lost ||= epoch !== this.#epoch;
      for (const name of names) {
        const replica = this.#replicas.get(name)!;
        const snapshot = tables.get(name)!;
        const changes: ReplicatedChange<object>[] = [];
        const present = new Set<RecordKey>();
        for (const [key, record, deadline, version, encoded] of snapshot.rows) {
          present.add(key);
          const held = replica.table.get(key) as object | undefined;
          if (lost) {
            if (held && JSON.stringify(encodeValue(held)) === JSON.stringify(encoded)) continue;
          } else if (replica.versions.get(key) === version && held) continue;
          changes.push({ key, record, deadline, op: 'update' });
        }
        for (const key of replica.table.keys())
          if (!present.has(key)) changes.push({ key, op: 'delete' });
        replica.apply(seq, undefined, changes);
        replica.adopt(snapshot, seq);
      }
      this.#applied = seq;
      this.#epoch = epoch;
      this.#lastCommit = lastCommit;
      this.#epochMark = mark;
      this.#wake();
    } finally {
      release();
    }
  }

  /** Holds the follower back until released (see `ApplyWaiters.hold`). */
  #hold(): () => void {
    return this.#waiters.hold();
  }

  /**
   * Resolves once this instance has applied its own change `seq`, which Redis returned with
   * the entry's changes: applied at once when it is the next entry (sparing the wait for the
   * log reader's round trip), else in log order by the follower.
   */
  #settle(seq: number, commit: string, changes: string, table: string): Promise<void> {
    if (seq === this.#applied + 1 && !this.#waiters.held && !this.#ended) {
      try {
        this.#applyEntry([`0-${seq}`, ['o', this.instanceId, 'c', commit, 'd', changes]]);
        this.#applied = seq;
        this.#wake();
      } catch {
        // the follower meets the same entry, reports it and reloads
      }
    }
    return this.#waitFor(seq, table);
  }

  /** Resolves once this instance has applied the log up to `seq`. */
  #waitFor(seq: number, table = ''): Promise<void> {
    if (seq <= this.#applied) return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(this.#closedError(table));
    return this.#waiters.waitFor(seq, table);
  }

  #wake(): void {
    this.#waiters.wake(this.#applied);
    this.#snapshotWhenDue();
  }

  /** Writes the compacted snapshot of each table for which one is due (`idle`: the log is quiet). */
  #snapshotWhenDue(idle = false): void {
    for (const replica of this.#replicas.values())
      if (replica.snapshot.due(replica.table.size, this.#applied, this.#logLength, idle))
        void this.#writeSnapshot(replica);
  }

  /**
   * Writes a table's compacted snapshot to Redis (`writeSnapshot`), from which new instances
   * load, unless another instance is writing one: the table as applied here, captured at
   * once at the log position applied.
   */
  async #writeSnapshot(replica: TableReplica): Promise<void> {
    const schedule = replica.snapshot;
    const name = replica.table.name;
    schedule.writing = true;
    try {
      const token = `${this.instanceId}#${++this.#commits}`;
      const locked = await lockSnapshot(this.#command(), this.#base, name, token);
      if (!locked) {
        // another instance writes it, or died writing it (its lock expires): one change is
        // left pending, so that the quiet log tries again (and finds it published, or writes it)
        schedule.since(this.#applied, replica.table.size, 1);
        return;
      }
      const meta = snapshotKey(this.#base, name);
      const [publishedAt, epoch] = await Promise.all([
        this.#command().hget(meta, 'seq'),
        this.#command().hget(meta, 'epoch'),
      ]);
      const published = Number(publishedAt ?? -1);
      if (epoch === this.#epoch && published >= this.#applied) {
        // another instance published it since (the log went quiet for every instance alike)
        schedule.since(published, replica.table.size, 0);
        await unlockSnapshot(this.#command(), this.#base, name, token);
        return;
      }
      const seq = this.#applied;
      const commit = this.#lastCommit;
      // the table is not at the position applied (it loads), or that position has no name
      // (Redis checks the name: a snapshot of another history is never published)
      if (replica.loadedAt > seq || commit === undefined) {
        await unlockSnapshot(this.#command(), this.#base, name, token);
        return;
      }
      const rows = replica.table
        .capture()
        .rows.map(
          ([key, record, deadline]) =>
            [key, record as object, deadline, replica.versions.get(key) ?? 0] as const,
        );
      schedule.since(seq, rows.length, 0);
      await writeSnapshot(
        this.#command(),
        this.#base,
        { table: name, rows, seq, commit, epoch: this.#epoch },
        token,
        (deadline) => Math.round(deadline + this.#clockOffset),
      );
    } catch {
      // Redis went away: loads read by parts meanwhile, and a later change tries again
    } finally {
      schedule.writing = false;
    }
  }

  /** Catches up with everything Redis has committed so far. */
  async sync(table: string): Promise<void> {
    // what was applied before asking: the follower may apply newer changes meanwhile
    const applied = this.#applied;
    let seq: number;
    let lost: string | undefined;
    try {
      ({ seq, lost } = await compareHistory(this.#command(), (name) => this.#key(name), {
        epoch: this.#epoch,
        commit: this.#lastCommit,
        applied,
      }));
    } catch (error) {
      throw this.#unavailable(table, 'Redis cannot be reached', error);
    }
    if (lost) await this.#reload(lost);
    this.#downHold?.();
    this.#downHold = undefined;
    if (!lost) await this.#waitFor(seq, table);
  }

  /** Reloads if Redis no longer holds this instance's epoch (checked on the log connection). */
  async #checkEpoch(reader: RedisLike): Promise<void> {
    let epoch: string | null;
    try {
      epoch = await reader.get(this.#key('epoch'));
    } catch {
      return; // the connection is down: the reconnect checks
    }
    if (epoch !== this.#epoch && !this.#ended)
      await this.#reload(
        epoch === null ? 'its data set is gone' : 'it holds another data set',
      ).catch(
        () => undefined, // Redis went away meanwhile: the reconnect compares again
      );
  }

  /**
   * Redis lost data this instance applied: writes are refused (\`catching-up\`) while every
   * table reloads from Redis, its differences reported as changes; writes waiting to be
   * applied here are refused (Redis may have lost them). One reload at a time.
   */
  #reload(why: string): Promise<void> {
    return (this.#reloading ??= this.#reloadOnce(why).finally(() => (this.#reloading = undefined)));
  }

  async #reloadOnce(why: string): Promise<void> {
    this.#logger.error(
      `Redis lost acknowledged writes (${why}): reloading every replicated store from Redis. ` +
        'Run Redis with appendonly yes and appendfsync always, and see waitForReplicas for failovers',
    );
    const wasReady = this.#state === 'ready';
    if (wasReady) this.#state = 'catching-up';
    this.#waiters.refuseAll((table) =>
      this.#unavailable(
        table,
        'Redis lost data before this write was applied here: it may be lost',
      ),
    );
    try {
      await this.#resync(true);
    } finally {
      if (wasReady && this.#state === 'catching-up') this.#state = 'ready';
    }
    this.#unblockReader();
  }

  /** Wakes the log reader's blocking read so that it reads from the new position at once. */
  #unblockReader(): void {
    if (this.#readerId === undefined) return;
    this.#client?.client('UNBLOCK', this.#readerId).catch(() => undefined);
  }

  // ---- connection state --------------------------------------------------------------

  #down(): void {
    if (this.#state !== 'ready' && this.#state !== 'catching-up') return;
    this.#state = 'degraded';
    // the log may come back with another history (a restart with older data, a failover):
    // nothing of it is applied until the reconnect has compared it with what was applied
    this.#downHold ??= this.#hold();
    this.#logger.warn(
      'Redis connection lost: replicated stores serve reads from their local copy and refuse writes until it is back',
    );
    // Writes waiting to be applied here are refused now rather than when Redis is back: one
    // that Redis committed before it went away still reaches every instance through the log.
    this.#waiters.refuseAll((table) =>
      this.#unavailable(
        table,
        'the connection to Redis was lost before this write was applied here',
      ),
    );
  }

  async #up(): Promise<void> {
    if (this.#state !== 'degraded') return;
    this.#state = 'catching-up';
    try {
      await this.sync('');
      if (this.#state === 'catching-up') {
        this.#state = 'ready';
        this.#logger.log(`Redis connection back: caught up to change ${this.#applied}`);
      }
    } catch {
      if (this.#state === 'catching-up') this.#state = 'degraded';
      if (this.#client?.status === 'ready') setTimeout(() => void this.#up(), 200).unref();
    }
  }

  /** Refuses a write unless Redis is reachable and this instance is up to date. */
  assertWritable(table: string): void {
    if (this.#state === 'ready') return;
    throw this.#unavailable(
      table,
      this.#state === 'catching-up'
        ? 'this instance is catching up with the replication log after a reconnect'
        : this.#state === 'closed'
          ? 'the application has shut down its replication'
          : 'Redis cannot be reached (reads go on from the local copy)',
    );
  }

  // ---- writes ------------------------------------------------------------------------

  /**
   * Commits the staged writes of the views in Redis, atomically, after checking what they
   * read (as `mode` says), unique values and capacity there; resolves once this instance
   * applied the change. Resolves to the tables that conflicted (nothing applied; this
   * instance has caught up with the change that conflicted), or to `[]` when committed.
   * Throws `DuplicateKeyError` or `StoreCapacityError` as Redis decided.
   */
  async commit(views: readonly AnyView[], mode: CommitMode): Promise<string[]> {
    const name = views[0]?.table.name ?? '';
    this.assertWritable(name);
    const { request, records } = commitRequest(views, mode, (table) => this.#replicaFor(table));
    if (request.ops.length === 0) return [];
    if (mode !== 'blind' || request.ops.length <= BATCH_PART)
      return this.#commitPart(JSON.stringify(request), records, name);
    // A blind batch reads nothing, so its parts need no common check: each is atomic, in order
    const ops = request.ops;
    for (let at = 0; at < ops.length; at += BATCH_PART) {
      request.ops = ops.slice(at, at + BATCH_PART);
      const conflicts = await this.#commitPart(JSON.stringify(request), records, name);
      if (conflicts.length > 0) return conflicts;
    }
    return [];
  }

  /**
   * Commits a large blind batch of puts (a sliced `writeMany`), built and checked here: in
   * parts sized by `PartSizer` (at most BATCH_PART), each encoded as its turn comes (so encoding never holds the event
   * loop longer than a part), each atomic. Resolves to the tables that conflicted (Redis
   * lost data: nothing of that part was written), or to `[]` once every part is applied here.
   */
  async commitBatch(
    table: AnyTable,
    keys: readonly RecordKey[],
    records: readonly object[],
    ttl: TtlSetting,
  ): Promise<string[]> {
    const name = table.name;
    this.assertWritable(name);
    const replica = this.#replicaFor(table);
    const request = batchRequest(replica);
    const sizer = new PartSizer();
    for (let at = 0; at < keys.length; at += request.ops.length) {
      const own = new Map<RecordKey, object>();
      request.ops = [];
      for (let i = at; i < Math.min(at + sizer.size, keys.length); i++) {
        own.set(keys[i], records[i]);
        request.ops.push(putOp(replica, JSON.stringify(keys[i]), records[i], ttl));
      }
      const conflicts = await this.#commitPart(
        JSON.stringify(request),
        new Map([[table, own]]),
        name,
      );
      if (conflicts.length > 0) return conflicts;
      sizer.took(request.ops.length, this.#scriptMs);
    }
    return [];
  }

  /** Commits one request (a script call) and settles its reply. */
  async #commitPart(
    request: string,
    records: Map<AnyTable, Map<RecordKey, object>>,
    name: string,
  ): Promise<string[]> {
    this.assertWritable(name);
    const commit = `${this.instanceId}#${++this.#commits}`;
    this.#pending.set(commit, records);
    const since = this.#applied;
    let reply: string[];
    const sent = performance.now();
    try {
      reply = await this.#command().msCommit(
        this.#base,
        this.instanceId,
        commit,
        this.#logLength,
        request,
        this.#epoch,
      );
      this.#scriptMs = performance.now() - sent;
    } catch (error) {
      // the reply is lost, not the outcome: find it before telling the caller anything
      const found = await findCommit(this.#command(), this.#key('log'), commit, since);
      if (!found) {
        this.#pending.delete(commit);
        throw this.#unavailable(
          name,
          found === null
            ? 'Redis cannot be reached; the write was not committed'
            : 'Redis cannot be reached and cannot tell whether the write was committed (if it was, it reaches every instance through the log)',
          error,
        );
      }
      reply = ['ok', String(found.seq), found.changes];
    }
    try {
      switch (reply[0]) {
        case 'ok':
          await this.#settle(Number(reply[1]), commit, reply[2], name);
          await this.#replicated(name);
          return [];
        case 'noop':
          return [];
        case 'epoch':
          // Redis lost data: nothing was written; reload, then the write runs again (as after
          // a conflict) over what Redis holds
          await this.#reload('its data set is not the one this instance holds');
          return [name];
        case 'conflict':
          await this.#waitFor(Number(reply[2]), name);
          return [reply[1]];
        case 'duplicate': {
          const holder = JSON.parse(reply[4]) as RecordKey;
          throw new DuplicateKeyError(
            reply[1],
            reply[2],
            decodeValue(JSON.parse(reply[3])),
            undefined,
            this.#replicas.get(reply[1])?.table.userKeyOf(holder) ?? holder, // a bag's key
          );
        }
        case 'capacity':
          throw new StoreCapacityError(reply[1], Number(reply[2]));
        default:
          throw new MemoryStoreError(`Unexpected reply from Redis: ${JSON.stringify(reply)}`, name);
      }
    } finally {
      this.#pending.delete(commit);
    }
  }

  /**
   * With `waitForReplicas`, resolves once that many Redis replicas hold this connection's
   * writes so far (Redis `WAIT`), else rejects with `ReplicationWaitError` (the write stays).
   */
  async #replicated(table: string): Promise<void> {
    const required = this.#options.waitForReplicas ?? 0;
    if (required === 0) return;
    const timeoutMs = this.#options.waitTimeoutMs ?? 1_000;
    let replicas: number;
    try {
      replicas = await this.#command().wait(required, timeoutMs);
    } catch {
      replicas = 0; // the connection broke: no replica is known to hold it
    }
    if (replicas < required) throw new ReplicationWaitError(table, replicas, required, timeoutMs);
  }

  /** Hands out the next value of a counter (`next`) or sets it (`reset`), in Redis. */
  async counter(table: AnyTable, counter: string, mode: 'next' | 'reset', to = 0): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      this.assertWritable(table.name);
      let reply: string[];
      const commit = `${this.instanceId}#${++this.#commits}`;
      try {
        reply = await this.#command().msCounter(
          this.#base,
          this.instanceId,
          commit,
          this.#logLength,
          table.name,
          counter,
          mode,
          String(to),
          this.#epoch,
        );
      } catch (error) {
        throw this.#unavailable(table.name, 'Redis cannot be reached', error);
      }
      if (reply[0] === 'limit') {
        throw new MemoryStoreError(
          `Counter '${counter}' has reached Number.MAX_SAFE_INTEGER and cannot count on exactly`,
          table.name,
        );
      }
      if (reply[0] === 'epoch') {
        if (attempt >= 3) throw this.#unavailable(table.name, 'Redis keeps losing its data');
        await this.#reload('its data set is not the one this instance holds');
        continue;
      }
      await this.#settle(Number(reply[0]), commit, reply[2], table.name);
      await this.#replicated(table.name);
      return Number(reply[1]);
    }
  }

  /**
   * Asks Redis to expire every due record of the group's tables (by Redis's clock): each
   * record expires once, whichever instance asks first, and every instance sees the
   * `expire` change. Resolves to how many expired.
   */
  expire(): Promise<number> {
    return (this.#expiring ??= this.#expire().finally(() => (this.#expiring = undefined)));
  }

  async #expire(): Promise<number> {
    if (this.#state !== 'ready') return 0;
    const tables: Record<string, readonly string[]> = {};
    let any = false;
    for (const [name, replica] of this.#replicas) {
      if (replica.table.deadlineCount === 0) continue;
      tables[name] = replica.uniqueFields;
      any = true;
    }
    if (!any) return 0;
    let expired: number;
    try {
      expired = Number(
        await this.#command().msExpire(
          this.#base,
          this.instanceId,
          this.#logLength,
          EXPIRE_BATCH,
          JSON.stringify(tables),
          this.#epoch,
          `${this.instanceId}#${++this.#commits}`,
        ),
      );
    } catch (error) {
      throw this.#unavailable(Object.keys(tables)[0], 'Redis cannot be reached', error);
    }
    if (expired >= 0) return expired;
    await this.#reload('its data set is not the one this instance holds');
    return 0;
  }

  // ---- shutdown ----------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#downHold?.();
    this.#waiters.refuseAll((table) => this.#closedError(table));
    this.#reader?.disconnect();
    try {
      await this.#client?.quit();
    } catch {
      this.#client?.disconnect();
    }
  }

  // ---- helpers -----------------------------------------------------------------------

  get #ended(): boolean {
    return this.#state === 'closed';
  }

  get #logLength(): number {
    return this.#options.logLength ?? 100_000;
  }

  #command(): RedisLike {
    if (!this.#client) throw new MemoryStoreError('Replication has not connected yet', '');
    return this.#client;
  }

  #replicaFor(table: AnyTable): TableReplica {
    const replica = this.#replicas.get(table.name);
    if (!replica)
      throw new MemoryStoreError(`Table '${table.name}' is not replicated here`, table.name);
    return replica;
  }

  #key(name: string): string {
    return `${this.#base}:${name}`;
  }

  #table(table: string, name: string): string {
    return `${this.#base}:t:${table}:${name}`;
  }

  #unavailable(table: string, reason: string, cause?: unknown): ReplicationUnavailableError {
    const detail = isError(cause) ? ` (${cause.message})` : '';
    return new ReplicationUnavailableError(table, `${reason}${detail}`, { cause });
  }

  #closedError(table: string): ReplicationUnavailableError {
    return new ReplicationUnavailableError(table, 'the application has shut down its replication');
  }
}

function whenReady(client: RedisLike): Promise<void> {
  if (client.status === 'end') return new Promise((resolve) => setTimeout(resolve, 200));
  return new Promise((resolve) => {
    const timer = setTimeout(done, 250);
    client.once('ready', done);
    function done(): void {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
  });
}
