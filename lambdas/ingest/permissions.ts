/**
 * What the ingest function may call: the Kinesis sink, and in the table only its counters and idempotency
 * keys (never window state).
 */
import { storePermissions } from '../adapters/dynamo-state-store.ts';
import { KINESIS_SINK_PERMISSIONS } from '../adapters/kinesis-sink.ts';
import { mergePermissions } from '../adapters/permissions.ts';

/** The state-store methods the ingest handler calls; its store is typed to exactly these. */
export const INGEST_STORE_CALLS = [
  'addIngestCounts',
  'claimIdempotencyKey',
  'completeIdempotencyKey',
  'releaseIdempotencyKey',
] as const;

export const INGEST_PERMISSIONS = mergePermissions([
  ...storePermissions(INGEST_STORE_CALLS),
  ...KINESIS_SINK_PERMISSIONS,
]);
