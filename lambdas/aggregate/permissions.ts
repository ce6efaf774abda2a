/** What the aggregate function may call: its shard processor's state-store methods and the shard directory. */
import { storePermissions } from '../adapters/dynamo-state-store.ts';
import { mergePermissions } from '../adapters/permissions.ts';
import { SHARD_DIRECTORY_PERMISSIONS } from '../adapters/shard-directory.ts';
import { SHARD_PROCESSOR_STORE_CALLS } from './shard-processor.ts';

export const AGGREGATE_PERMISSIONS = mergePermissions([
  ...storePermissions(SHARD_PROCESSOR_STORE_CALLS),
  ...SHARD_DIRECTORY_PERMISSIONS,
]);
