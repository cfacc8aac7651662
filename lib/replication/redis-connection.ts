import { Logger } from '@nestjs/common';
import { MemoryStoreError } from '../errors/memory-store.error.js';
import type { ReplicationOptions } from '../interfaces/memory-store-module-options.interface.js';

/**
 * The part of an ioredis client replication uses. Declared here rather than imported so
 * that the library's types do not require ioredis, an optional peer dependency.
 */
export interface RedisLike {
  readonly status: string;
  readonly options: { retryStrategy?: (attempt: number) => number | null | void };
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ...options: (string | number)[]): Promise<string | null>;
  hget(key: string, field: string): Promise<string | null>;
  del(key: string): Promise<number>;
  wait(replicas: number, timeoutMs: number): Promise<number>;
  client(subcommand: string, ...args: (string | number)[]): Promise<unknown>;
  time(): Promise<[string, string]>;
  xread(...args: (string | number)[]): Promise<[string, [string, string[]][]][] | null>;
  xrange(
    key: string,
    start: string,
    end: string,
    count?: 'COUNT',
    n?: number,
  ): Promise<[string, string[]][]>;
  multi(): RedisMulti;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  msCommit(...args: (string | number)[]): Promise<string[]>;
  msExpire(...args: (string | number)[]): Promise<number>;
  msCounter(...args: (string | number)[]): Promise<string[]>;
  msEpoch(base: string, epoch: string): Promise<string>;
  msSnapshot(...args: (string | number)[]): Promise<number>;
  msScan(
    base: string,
    table: string,
    cursor: string,
    count: number,
  ): Promise<[string, number, string]>;
}

export interface RedisMulti {
  get(key: string): RedisMulti;
  xrange(key: string, start: string, end: string): RedisMulti;
  xrevrange(key: string, end: string, start: string, count: 'COUNT', n: number): RedisMulti;
  hget(key: string, field: string): RedisMulti;
  hmget(key: string, ...fields: string[]): RedisMulti;
  xrange(key: string, start: string, end: string, count: 'COUNT', n: number): RedisMulti;
  call(command: string, ...args: string[]): RedisMulti;
  zrange(key: string, start: number, stop: number, withScores: 'WITHSCORES'): RedisMulti;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** How long a command may go unanswered by default (ioredis `commandTimeout`). */
const COMMAND_TIMEOUT_MS = 10_000;

type RedisConstructor = new (...args: unknown[]) => RedisLike;
type ClusterConstructor = new (nodes: unknown[], options: object) => RedisLike;

/**
 * Opens the two connections of a replication group (commands, and the blocking reads of the
 * log) and registers the Lua scripts. Commands fail at once while Redis is unreachable (no
 * offline queue) and are never sent twice (no resend after a reconnect): a write either
 * reaches Redis once or is refused.
 */
export async function connectRedis(
  options: ReplicationOptions,
  table: string,
  scripts: {
    commit: string;
    expire: string;
    counter: string;
    epoch: string;
    scan: string;
    snapshot: string;
  },
): Promise<{ client: RedisLike; reader: RedisLike }> {
  let Redis: RedisConstructor;
  let Cluster: ClusterConstructor;
  try {
    const loaded = (await import('ioredis')) as unknown as {
      default?: RedisConstructor;
      Redis?: RedisConstructor;
      Cluster: ClusterConstructor;
    };
    Redis = (loaded.Redis ?? loaded.default)!;
    Cluster = loaded.Cluster;
  } catch (cause) {
    throw new MemoryStoreError(
      "Replication needs the 'ioredis' package: npm install ioredis",
      table,
      { cause },
    );
  }
  const { url, cluster, ...given } = (
    typeof options.redis === 'string' ? { url: options.redis } : options.redis
  ) as { url?: string; cluster?: unknown[] } & Record<string, unknown>;
  const settings = {
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2_000),
    ...given,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  };
  const logger = new Logger('MemoryStoreReplication');
  const open = (role: string, options: object): RedisLike => {
    const client = cluster
      ? clusterClient(Cluster, cluster, options as Record<string, unknown>)
      : url
        ? new Redis(url, options)
        : new Redis(options);
    let reported = false;
    client.on('error', (error) => {
      if (reported) return;
      reported = true; // once per outage: ioredis reports every reconnection attempt
      logger.warn(`Redis (${role} connection): ${(error as Error).message}`);
    });
    client.on('ready', () => (reported = false));
    return client;
  };
  // A command unanswered for this long (Redis frozen, a partition without a reset) is refused
  // rather than left hanging; the log reader's blocking reads need no such limit.
  const client = open('commands', { commandTimeout: COMMAND_TIMEOUT_MS, ...settings });
  const reader = open('log', { ...settings, commandTimeout: undefined });
  const timeout = options.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all([client.connect(), reader.connect()]),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${timeout} ms`)), timeout);
      }),
    ]);
  } catch (cause) {
    for (const connection of [client, reader]) {
      // no reconnection attempt left behind
      connection.options.retryStrategy = () => null;
      (connection.options as { clusterRetryStrategy?: () => null }).clusterRetryStrategy = () =>
        null;
      connection.disconnect();
    }
    throw new MemoryStoreError(
      `Table '${table}' is replicated but Redis cannot be reached: ${(cause as Error).message}`,
      table,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
  client.defineCommand('msCommit', { numberOfKeys: 1, lua: scripts.commit });
  client.defineCommand('msExpire', { numberOfKeys: 1, lua: scripts.expire });
  client.defineCommand('msCounter', { numberOfKeys: 1, lua: scripts.counter });
  client.defineCommand('msEpoch', { numberOfKeys: 1, lua: scripts.epoch });
  client.defineCommand('msScan', { numberOfKeys: 1, lua: scripts.scan });
  client.defineCommand('msSnapshot', { numberOfKeys: 1, lua: scripts.snapshot });
  return { client, reader };
}

/**
 * A Redis Cluster client: `settings` are the Cluster's options, and those of each node's
 * connection (`redisOptions`) too, so that the same rules hold on every node.
 */
function clusterClient(
  Cluster: ClusterConstructor,
  nodes: unknown[],
  settings: Record<string, unknown>,
): RedisLike {
  const { retryStrategy, redisOptions, ...rest } = settings as {
    retryStrategy: (attempt: number) => number | null;
    redisOptions?: object;
  } & Record<string, unknown>;
  return new Cluster(nodes, {
    clusterRetryStrategy: retryStrategy,
    ...rest,
    redisOptions: { ...redisOptions, ...rest, retryStrategy },
  });
}
