/**
 * The state store on one DynamoDB table (string `pk`, `sk`): one adapter per kind of item, in
 * lambdas/adapters/dynamo/, each declaring the IAM actions it calls; this file composes them. Item layouts:
 *
 * | item               | pk                          | sk                               |
 * |--------------------|-----------------------------|----------------------------------|
 * | pane deltas        | `log|<view>@<ver>|<bucket>` | `<paneStart>|<shard>|<first seq>|<part>` |
 * | compacted window   | `wins|<view>@<ver>`         | `<windowEnd>|<windowStart>|<round>` |
 * | compacted through  | `wins|<view>@<ver>`         | `~through`                       |
 * | result chunk       | `win|<view>@<ver>|<start>|<round>` | `<lowest group hash, 8 hex>` |
 * | detector states    | `det|<view>@<ver>|<start>|<round>` | `<lowest group hash, 8 hex>` |
 * | anomaly            | `anom|<view>@<ver>`         | `<windowStart>|<group key>`      |
 * | shard progress     | `shard`                     | `<shardId>`                      |
 * | emitted through    | `pipeline`                  | `emitted-through`                |
 * | late / dead letter | `late` / `dead`             | `<arrival ms>|<shard>|<seq>|<part>` |
 * | ingest counters    | `ingest`                    | `0`..`9` (spread over 10 items)  |
 * | window to emit     | `open|<view>@<ver>`         | `<readyAt>|<start>|<tag>`        |
 * | session round cut  | `open|<view>@<ver>`         | `~cut|<bucket>|<round>`          |
 * | idempotency key    | `idem|<key>`                | `-`                              |
 * | record origin      | `rec|<part>|<key>`          | `-`                              |
 * | given-up batch     | `failed`                    | `<failed at ms>|<source>|<shard>|<first seq>` |
 *
 * Pane partials are a log of packed deltas (lambdas/core/pane-log.ts, docs/storage.md): a batch writes a few
 * items per view and pane whatever the number of groups, a group's panes are one Query of its bucket, and a
 * final window is compacted into chunks by group hash. The shard item carries `seq`, the last record applied,
 * and the intent of an unfinished attempt; writes to it are conditional on `seq`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StateStore } from '../core/store.ts';
import { ANOMALY_PERMISSIONS, DynamoAnomalyStore } from './dynamo/anomaly-items.ts';
import { COMPACTED_PERMISSIONS, DynamoCompactedStore } from './dynamo/compacted-items.ts';
import { DELTA_PERMISSIONS, DynamoPaneLogStore } from './dynamo/delta-items.ts';
import { DynamoFailedBatchStore, FAILED_BATCH_PERMISSIONS } from './dynamo/failed-batch-items.ts';
import { DynamoIngestLedger, INGEST_LEDGER_PERMISSIONS } from './dynamo/ingest-ledger-items.ts';
import { DynamoOutboxStore, OUTBOX_PERMISSIONS } from './dynamo/outbox-items.ts';
import { DynamoRecordOriginStore, RECORD_ORIGIN_PERMISSIONS } from './dynamo/record-origin-items.ts';
import { DynamoShardProgressStore, SHARD_PROGRESS_PERMISSIONS } from './dynamo/shard-progress-items.ts';
import { DynamoSideRecordStore, SIDE_RECORD_PERMISSIONS } from './dynamo/side-record-items.ts';
import type { Permission } from './permissions.ts';

/**
 * The calls each method makes, and the partition keys (item kinds, see the table above) they touch, from the
 * adapter of each kind. A function is granted exactly the permissions of the methods it is wired to call
 * (`storePermissions`): a new call without its action fails the local runtime's policy check
 * (local/aws-twin.ts) and the grants test (test/e2e/grants.test.ts).
 */
export const STATE_STORE_PERMISSIONS = {
  ...SHARD_PROGRESS_PERMISSIONS,
  ...DELTA_PERMISSIONS,
  ...COMPACTED_PERMISSIONS,
  ...ANOMALY_PERMISSIONS,
  ...OUTBOX_PERMISSIONS,
  ...SIDE_RECORD_PERMISSIONS,
  ...RECORD_ORIGIN_PERMISSIONS,
  ...INGEST_LEDGER_PERMISSIONS,
  ...FAILED_BATCH_PERMISSIONS,
} as const satisfies Record<keyof StateStore | 'ping', Permission>;

export type StateStoreCall = keyof typeof STATE_STORE_PERMISSIONS;

/** The permissions of the state-store methods a function calls. */
export function storePermissions(calls: readonly StateStoreCall[]): Permission[] {
  return calls.map((call) => STATE_STORE_PERMISSIONS[call]);
}

/** Every kind of item of the one table, as the ports' callers take them. */
export class DynamoStateStore implements StateStore {
  readonly shards: DynamoShardProgressStore;
  readonly deltas: DynamoPaneLogStore;
  readonly compacted: DynamoCompactedStore;
  readonly anomalies: DynamoAnomalyStore;
  readonly outbox: DynamoOutboxStore;
  readonly sideRecords: DynamoSideRecordStore;
  readonly origins: DynamoRecordOriginStore;
  readonly ledger: DynamoIngestLedger;
  readonly failedBatches: DynamoFailedBatchStore;

  constructor(client: DynamoDBClient, tableName: string) {
    this.shards = new DynamoShardProgressStore(client, tableName);
    this.deltas = new DynamoPaneLogStore(client, tableName);
    this.compacted = new DynamoCompactedStore(client, tableName);
    this.anomalies = new DynamoAnomalyStore(client, tableName);
    this.outbox = new DynamoOutboxStore(client, tableName);
    this.sideRecords = new DynamoSideRecordStore(client, tableName);
    this.origins = new DynamoRecordOriginStore(client, tableName);
    this.ledger = new DynamoIngestLedger(client, tableName);
    this.failedBatches = new DynamoFailedBatchStore(client, tableName);
  }

  getShardStates: DynamoShardProgressStore['getShardStates'] = (...a) => this.shards.getShardStates(...a);
  putShardState: DynamoShardProgressStore['putShardState'] = (...a) => this.shards.putShardState(...a);
  getEmittedThrough: DynamoShardProgressStore['getEmittedThrough'] = (...a) => this.shards.getEmittedThrough(...a);
  raiseEmittedThrough: DynamoShardProgressStore['raiseEmittedThrough'] = (...a) =>
    this.shards.raiseEmittedThrough(...a);
  putDeltas: DynamoPaneLogStore['putDeltas'] = (...a) => this.deltas.putDeltas(...a);
  deleteDeltas: DynamoPaneLogStore['deleteDeltas'] = (...a) => this.deltas.deleteDeltas(...a);
  queryDeltas: DynamoPaneLogStore['queryDeltas'] = (...a) => this.deltas.queryDeltas(...a);
  putCompacted: DynamoCompactedStore['putCompacted'] = (...a) => this.compacted.putCompacted(...a);
  getCompacted: DynamoCompactedStore['getCompacted'] = (...a) => this.compacted.getCompacted(...a);
  listCompacted: DynamoCompactedStore['listCompacted'] = (...a) => this.compacted.listCompacted(...a);
  getLatestCompacted: DynamoCompactedStore['getLatestCompacted'] = (...a) => this.compacted.getLatestCompacted(...a);
  getDetectorStates: DynamoCompactedStore['getDetectorStates'] = (...a) => this.compacted.getDetectorStates(...a);
  putAnomalies: DynamoAnomalyStore['putAnomalies'] = (...a) => this.anomalies.putAnomalies(...a);
  listAnomalies: DynamoAnomalyStore['listAnomalies'] = (...a) => this.anomalies.listAnomalies(...a);
  getChunks: DynamoCompactedStore['getChunks'] = (...a) => this.compacted.getChunks(...a);
  getChunk: DynamoCompactedStore['getChunk'] = (...a) => this.compacted.getChunk(...a);
  getCompactedThrough: DynamoCompactedStore['getCompactedThrough'] = (...a) => this.compacted.getCompactedThrough(...a);
  raiseCompactedThrough: DynamoCompactedStore['raiseCompactedThrough'] = (...a) =>
    this.compacted.raiseCompactedThrough(...a);
  putOpenWindows: DynamoOutboxStore['putOpenWindows'] = (...a) => this.outbox.putOpenWindows(...a);
  fixRoundCut: DynamoOutboxStore['fixRoundCut'] = (...a) => this.outbox.fixRoundCut(...a);
  listOpenWindows: DynamoOutboxStore['listOpenWindows'] = (...a) => this.outbox.listOpenWindows(...a);
  deleteOpenWindows: DynamoOutboxStore['deleteOpenWindows'] = (...a) => this.outbox.deleteOpenWindows(...a);
  putSideRecords: DynamoSideRecordStore['putSideRecords'] = (...a) => this.sideRecords.putSideRecords(...a);
  listSideRecords: DynamoSideRecordStore['listSideRecords'] = (...a) => this.sideRecords.listSideRecords(...a);
  claimRecordOrigins: DynamoRecordOriginStore['claimRecordOrigins'] = (...a) => this.origins.claimRecordOrigins(...a);
  addIngestCounts: DynamoIngestLedger['addIngestCounts'] = (...a) => this.ledger.addIngestCounts(...a);
  getIngestCounts: DynamoIngestLedger['getIngestCounts'] = (...a) => this.ledger.getIngestCounts(...a);
  claimIdempotencyKey: DynamoIngestLedger['claimIdempotencyKey'] = (...a) => this.ledger.claimIdempotencyKey(...a);
  completeIdempotencyKey: DynamoIngestLedger['completeIdempotencyKey'] = (...a) =>
    this.ledger.completeIdempotencyKey(...a);
  releaseIdempotencyKey: DynamoIngestLedger['releaseIdempotencyKey'] = (...a) =>
    this.ledger.releaseIdempotencyKey(...a);
  /** A cheap read that proves the table is reachable (used by /health). */
  ping: DynamoIngestLedger['ping'] = (...a) => this.ledger.ping(...a);
  putFailedBatch: DynamoFailedBatchStore['putFailedBatch'] = (...a) => this.failedBatches.putFailedBatch(...a);
  listFailedBatches: DynamoFailedBatchStore['listFailedBatches'] = (...a) => this.failedBatches.listFailedBatches(...a);
  markFailedBatchRedriven: DynamoFailedBatchStore['markFailedBatchRedriven'] = (...a) =>
    this.failedBatches.markFailedBatchRedriven(...a);
}
