/** Where a replicated store stands with Redis. */
export type ReplicationState = 'connecting' | 'ready' | 'degraded' | 'catching-up' | 'closed';

/** What `store.replication` reports. */
export interface ReplicationStatus {
  /**
   * `ready`: writes go through; `degraded`: Redis is unreachable, reads are served from the
   * local copy and writes are refused; `catching-up`: reconnected, applying what it missed
   * (writes are refused until done); `connecting`: starting; `closed`: shut down.
   */
  readonly state: ReplicationState;
  /** This instance's name: the `origin` of the changes it makes. */
  readonly instanceId: string;
  /** The number of the last change of the replication log applied here. */
  readonly appliedSeq: number;
}

/** How a commit is checked in Redis. */
export type CommitMode =
  /** A write that reads nothing (write, writeMany): no version checks. */
  | 'blind'
  /** One operation: the records it read must be unchanged. */
  | 'single'
  /** A transaction: what it read, and the tables it queried, must be unchanged. */
  | 'transaction';
