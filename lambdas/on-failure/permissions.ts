/**
 * What the on-failure function may call: in the table only the given-up batches, and on the event stream
 * reads of the ranges they name. (The queue is read by its event source mapping, granted by the CDK app.)
 */
import { storePermissions } from '../adapters/dynamo-state-store.ts';
import { mergePermissions } from '../adapters/permissions.ts';
import { STREAM_RANGE_READER_PERMISSIONS } from '../adapters/stream-range-reader.ts';

/** The state-store methods the on-failure handler calls; its store is typed to exactly these. */
export const ON_FAILURE_STORE_CALLS = ['putFailedBatch'] as const;

export const ON_FAILURE_PERMISSIONS = mergePermissions([
  ...storePermissions(ON_FAILURE_STORE_CALLS),
  ...STREAM_RANGE_READER_PERMISSIONS,
]);
