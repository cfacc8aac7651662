export * from './errors/index.js';
export { Table } from './decorators/table.decorator.js';
export { Index, type ClassIndexDecorator, type IndexPath } from './decorators/index.decorator.js';
export { Store } from './decorators/store.decorator.js';
export { InjectStore } from './decorators/inject-store.decorator.js';
export {
  MemoryStore,
  type AggregateOutput,
  type ByKind,
  type Change,
  type DeepChange,
  type Patch,
  type RecordInput,
  type Selected,
  type StoreKind,
  type UpdateOptions,
  type WriteOptions,
} from './store/memory-store.js';
export { BagStore } from './store/bag-store.js';
export type * from './update/update.types.js';
export type { MergeMode } from './update/deep-merge.js';
export type { ReadonlyStore, StoreReadMember } from './store/store-access.js';
export type { NewRecord, RequiredFields } from './store/new-record.js';
export { getSweepName } from './memory-store.utils.js';
export type { Duration } from './ttl/duration.js';
export type { EvictionPolicy } from './engine/capacity.js';
export { match, MatchQuery } from './query/match.js';
export { MAX_REGEX_LENGTH } from './query/query-values.js';
export { MAX_REPEATED_VALUES } from './engine/copy-scope.js';
export { MAX_QUERY_DEPTH } from './query/filter-parser.js';
export type { AggregateSpec, AggregateResult } from './query/aggregate.js';
export type * from './query/join.types.js';
export type { WatchOptions } from './query/live-query.js';
export { MemoryStoreModule } from './memory-store.module.js';
export {
  MemoryStoreService,
  DEFAULT_TRANSACTION_RETRIES,
  DEFAULT_TRANSACTION_TIMEOUT_MS,
  type ExportStreamOptions,
  type ImportStreamOptions,
  type StoreStats,
  type TransactionOptions,
} from './memory-store.service.js';
export { OnStoreEvent } from './events/on-store-event.decorator.js';
export type { StoreChange, StoreChangeOp, ChangeFilter } from './events/store-change.interface.js';
export { getStoreToken } from './memory-store.utils.js';
export { MEMORY_STORE_MODULE_OPTIONS } from './memory-store.constants.js';
export type { StoreReference } from './store/store-registry.js';
export type { RecordUpdate } from './engine/memory-table.js';
export type { QueryPlan, AccessPath } from './query/planner.js';
export type { CompoundPath } from './query/compound-plan.js';
export type { RangeBound } from './query/query-compiler.js';
export type * from './interfaces/table-options.interface.js';
export type * from './interfaces/store-options.interface.js';
export type * from './interfaces/memory-store-module-options.interface.js';
export type * from './query/query.types.js';
export type { PersistenceFileSystem, AppendFile, ReadFile } from './persistence/file-system.js';
export { NODE_FILE_SYSTEM } from './persistence/file-system.js';
export type { FsyncPolicy } from './persistence/journal.js';
export type { TransferFormat } from './persistence/transfer.js';
export type { ReplicationStatus, ReplicationState } from './replication/replication-group.js';
export {
  MemoryStoreHealthIndicator,
  type MemoryStoreHealthResult,
} from './health/memory-store.health-indicator.js';
export type { HealthThresholds, StoreHealth } from './health/store-health.js';
export {
  MemoryStoreMetricsModule,
  MemoryStoreMetrics,
  type MemoryStoreMetricsOptions,
  type MeterProviderLike,
} from './metrics/memory-store-metrics.module.js';
export { MemoryStoreInspectorModule } from './inspector/memory-store-inspector.module.js';
export type { MemoryStoreInspectorOptions } from './inspector/inspector-options.interface.js';
export type {
  InspectedStore,
  InspectedChange,
  QueryAnswer,
  RecordPage,
} from './inspector/inspector.service.js';
export type { SlidingTtl } from './cache/sliding-ttl.js';
export type { FetchOptions, Loader, LoaderContext } from './cache/read-through.js';
export {
  memoryStoreKeyv,
  type KeyvRecord,
  type MemoryStoreKeyv,
  type KeyvEntry,
} from './cache/keyv-store.js';
export type { StoreClass } from './cache/started-stores.js';
