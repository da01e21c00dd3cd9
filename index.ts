/**
 * PaxosStore in TypeScript — the public API.
 *
 * A strongly consistent, multi-master store: per-key leaseless Paxos across the replicas of a
 * Set, built as actors on worker threads. See README.md for options and guarantees.
 */
export { PaxosStore, ReplicaHandle } from './actors/store/paxos-store';
export type { GroupRef, StoreStats, SupervisionReport } from './actors/store/paxos-store';
export type { TrafficStats } from './actors/store/traffic-stats';
export { RemoteStore } from './client/remote-store';
export type { ConnectOptions } from './client/remote-store';
export type { PaxosStoreOptions, EngineName } from './actors/store/options';
export type { RepairOptions, RepairRoundReport } from './actors/store/repair-options';
export type { RepairStats } from './actors/store/background-repair';
export { KvNamespace, KEY_BYTES_MAX } from './actors/store/kv';
export { Queue } from './actors/store/queue';
export { StoreSet } from './actors/store/set';
export { Table } from './actors/store/table';
export { Doc } from './actors/store/doc';
export { Account } from './actors/store/account';
export { Bigtable } from './actors/store/bigtable';
export type {
  BigtableOptions,
  BigtableEntry,
  BigtableRow,
  BigtableValue,
  BigtableScanOptions,
  BigtableIndexOptions,
} from './actors/store/bigtable';
export type { AccountBoundsOptions, AccountBalance, JournalEntry } from './actors/store/account';
export type { DocOp, DocUpdateOptions, JsonValue } from './actors/store/doc';
export type { ReadOptions } from './actors/store/model-client';
export type { KvEntry, KvGetOptions } from './actors/store/kv';
export type {
  VerifyOptions,
  VerifyReport,
  VerifyMismatch,
  ReplicaDigest,
  ReplicaKeyState,
  KeyLocation,
} from './actors/store/verify';
export type { BackupOptions, BackupProgress, BackupReport } from './actors/store/backup';
export type { RestoreOptions, RestoreProgress, RestoreReport } from './actors/store/restore';
export type {
  BackupFollow,
  BackupFollowReport,
  FollowStopOptions,
} from './actors/store/backup-follow';
export type { ResumeBackupOptions } from './actors/store/backup-follow-resume';
export type { RestorePoint } from './actors/store/backup-replay';
export type { ClusterVerifyReport } from './client/remote-store';
export type { ClusterBackupReport } from './client/cluster-backup';
export type { ClusterRestoreOptions, ClusterRestoreReport } from './client/cluster-restore';
export { Subscription } from './actors/store/subscription';
export type { StoreJournalEntry, SubscribeOptions, ModelName } from './actors/store/subscription';
export type { JournalOptions } from './actors/store/journal-options';
export type { JournalRange } from './actors/paxos/journal-page';
export { PaxosStoreError, ErrorCodes } from './actors/store/errors';
export type { ErrorCode } from './actors/store/errors';
export type { SyncMode } from './engines/engine';
export type { Consistency } from './actors/paxos/core/types';
