import {
  BadRequestException,
  Inject,
  Injectable,
  NotFoundException,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { merge, map, ReplaySubject, takeUntil, type Observable } from 'rxjs';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import { QueryError } from '../errors/query.error.js';
import { eventBacklog } from '../health/store-health.js';
import { jsonReplacer } from '../persistence/export-stream.js';
import { MEMORY_STORE_REGISTRY } from '../memory-store.constants.js';
import type { QueryExplanation } from '../query/query.types.js';
import { tableOf, type MemoryStore } from '../store/memory-store.js';
import type { StoreRegistry } from '../store/store-registry.js';

/** The most records one page or query returns. */
export const INSPECTOR_MAX_LIMIT = 500;
const DEFAULT_LIMIT = 25;

/** A store as the inspector lists it. */
export interface InspectedStore {
  table: string;
  store: string;
  key: string;
  records: number;
  ready: boolean;
  indexes: { field: string; unique: boolean }[];
  ttlMs?: number;
  maxRecords?: number;
  persisted: boolean;
  replication?: string;
  eventBacklog: number;
}

/** A page of a table's records. */
export interface RecordPage {
  table: string;
  total: number;
  offset: number;
  limit: number;
  sort?: { field: string; order: 'asc' | 'desc' };
  items: object[];
}

/** What a query returned, and how the planner ran it. */
export interface QueryAnswer {
  table: string;
  count: number;
  items: object[];
  explain: QueryExplanation;
}

/** A change as the live feed sends it. */
export interface InspectedChange {
  table: string;
  op: string;
  key?: unknown;
  diff?: Record<string, unknown>;
  previous?: Record<string, unknown>;
  record?: object;
  origin?: string;
  at: string;
}

/** Reads the stores for the inspector: read-only, through their public API. */
@Injectable()
export class InspectorService implements BeforeApplicationShutdown {
  /** Emits once the application starts to close: ends every live feed, and those opened later. */
  readonly #closing = new ReplaySubject<void>(1);

  constructor(@Inject(MEMORY_STORE_REGISTRY) private readonly registry: StoreRegistry) {}

  /**
   * Ends the live feeds before the HTTP server closes: the server waits for open
   * connections, and a feed would otherwise keep `app.close()` waiting forever.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.#closing.next();
    this.#closing.complete();
    // Lets the ended responses go out: the server then finds their connections idle and
    // closes them, rather than waiting out their keep-alive timeout.
    await new Promise((resolve) => setImmediate(resolve));
  }

  stores(): InspectedStore[] {
    return this.registry.list().map((store) => {
      const table = tableOf(store);
      const runtime = this.registry.runtimeFor(store);
      return {
        table: table.name,
        store: store.constructor.name,
        key: table.schema.bagKey ?? table.keyField, // a bag's key, not its hidden row
        records: store.size,
        ready: store.isReady,
        indexes: store.indexes(),
        ...(table.schema.ttl !== undefined ? { ttlMs: table.schema.ttl } : {}),
        ...(runtime.capacity ? { maxRecords: runtime.capacity.maxRecords } : {}),
        persisted: runtime.persistence !== undefined,
        ...(store.replication ? { replication: store.replication.state } : {}),
        eventBacklog: eventBacklog(this.registry, table.name),
      };
    });
  }

  records(name: string, query: Record<string, unknown>): RecordPage {
    const store = this.#store(name);
    const offset = integer(query.offset, 'offset', 0);
    const limit = Math.min(integer(query.limit, 'limit', DEFAULT_LIMIT), INSPECTOR_MAX_LIMIT);
    const field = text(query.sort, 'sort');
    const order = query.order === 'desc' ? 'desc' : 'asc';
    if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc')
      throw new BadRequestException(`'order' must be 'asc' or 'desc'`);
    const items = this.#run(() =>
      store.select(undefined, { ...(field ? { orderBy: { [field]: order } } : {}), offset, limit }),
    );
    return {
      table: store.tableName,
      total: store.size,
      offset,
      limit,
      ...(field ? { sort: { field, order } } : {}),
      items: plain(items),
    };
  }

  query(name: string, filter: unknown, limitParam: unknown): QueryAnswer {
    const store = this.#store(name);
    const given = text(filter, 'filter');
    let parsed: unknown;
    if (given === undefined || given.trim() === '') parsed = {};
    else {
      try {
        parsed = JSON.parse(given);
      } catch (error) {
        throw new BadRequestException(`'filter' is not JSON: ${(error as Error).message}`);
      }
    }
    const limit = Math.min(integer(limitParam, 'limit', DEFAULT_LIMIT), INSPECTOR_MAX_LIMIT);
    return this.#run(() => ({
      table: store.tableName,
      count: store.count(parsed as object),
      items: plain(store.select(parsed as object, { limit })),
      explain: store.explain(parsed as object, { limit }),
    }));
  }

  /** Every change of every store (or of one), as it commits. */
  changes(name?: unknown): Observable<InspectedChange> {
    const table = text(name, 'table');
    const stores = table ? [this.#store(table)] : this.registry.list();
    return merge(
      ...stores.map((store: MemoryStore<object>) =>
        store.changes().pipe(
          map((change) =>
            plain<InspectedChange>({
              table: change.table,
              op: change.op,
              ...(change.key !== undefined ? { key: change.key } : {}),
              ...(change.diff ? { diff: change.diff as Record<string, unknown> } : {}),
              ...(change.diff && change.previous
                ? { previous: pick(change.previous, change.diff) }
                : {}),
              ...(change.record ? { record: change.record } : {}),
              ...(change.origin ? { origin: change.origin } : {}),
              at: new Date(change.at).toISOString(),
            }),
          ),
        ),
      ),
    ).pipe(takeUntil(this.#closing));
  }

  #store(name: string): MemoryStore<object> {
    const store = this.registry.find(name);
    if (!store) throw new NotFoundException(`No store for table '${name}'`);
    return store as MemoryStore<object>;
  }

  /** Runs a read, turning the store's refusal of a query into a 400 with its message. */
  #run<R>(read: () => R): R {
    try {
      return read();
    } catch (error) {
      if (error instanceof QueryError || error instanceof MemoryStoreError)
        throw new BadRequestException(error.message);
      throw error;
    }
  }
}

/**
 * What is sent, as JSON can carry it: a bigint field becomes its digits (as in `export()`),
 * where it made the answer a 500 and ended the live feed of everyone watching the table.
 */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, jsonReplacer)) as T;
}

/** The fields of `record` that `diff` names: what they were before the change. */
function pick(record: object, diff: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(diff)) out[field] = (record as Record<string, unknown>)[field];
  return out;
}

/**
 * A query parameter given once as text, or undefined when absent or empty. Given twice
 * (`?sort=a&sort=b`), or as an object by an extended query parser (`?filter[a]=1`), it is refused: ignoring it would
 * answer another question than the one asked (every record instead of those filtered).
 */
function text(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string')
    throw new BadRequestException(`'${name}' must be given once, as a string`);
  return value;
}

function integer(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new BadRequestException(`'${name}' must be a non-negative integer`);
  return n;
}
