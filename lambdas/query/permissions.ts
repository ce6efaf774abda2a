/** What the query function may call: reads only. */
import { storePermissions } from '../adapters/dynamo-state-store.ts';
import { mergePermissions } from '../adapters/permissions.ts';

/** The state-store methods the query handler calls; its store is typed to exactly these. */
export const QUERY_STORE_CALLS = [
  'ping',
  'getShardStates',
  'getEmittedThrough',
  'getIngestCounts',
  // Results (lambdas/adapters/window-reader.ts) and GET /views/{view}/groups (window-groups.ts).
  'queryDeltas',
  'getCompactedThrough',
  'listCompacted',
  'getCompacted',
  'getChunk',
  'getChunks',
  'listSideRecords',
  'listOpenWindows',
  'listFailedBatches',
  'listAnomalies',
] as const;

export const QUERY_PERMISSIONS = mergePermissions(storePermissions(QUERY_STORE_CALLS));
