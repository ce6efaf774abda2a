/**
 * The state table's key schema: one table, string partition and sort keys. Declared once for the CDK stack
 * and the local runtime. Item layouts are documented in lambdas/adapters/dynamo-state-store.ts.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB may delete an item: idempotency keys, side records, and window state past its view's retention. */
  ttlAttribute: 'expiresAt',
} as const;
