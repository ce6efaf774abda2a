/**
 * Kinesis event-source settings: the one definition read by the CDK stack (the Lambda event source mapping)
 * and by the local runtime's shard poller, so both deliver batches the same way.
 */
export const EVENT_SOURCE = {
  /** Records per batch. Ingest packs many events per record, so 500 records can carry tens of thousands of events. */
  batchSize: 500,
  /** Wait up to this long to fill a batch: fewer, larger batches mean fewer DynamoDB writes per event. */
  maxBatchingWindowSeconds: 1,
  /** Retries of a failing batch before its records go to the on-failure destination. */
  retryAttempts: 10,
  /** Split a failing batch in two on retry, so one bad record cannot hold back the good ones for long. */
  bisectBatchOnError: true,
  /** Records older than this are sent to the on-failure destination instead of being retried (1 day). */
  maxRecordAgeSeconds: 86_400,
  /** One concurrent batch per shard keeps each state item single-writer (see lambdas/aggregate). */
  parallelizationFactor: 1,
  startingPosition: 'TRIM_HORIZON',
  /**
   * The aggregator fails a batch as a whole: per-item state is written once per batch, so a partial success
   * would have to be undone. Replays are idempotent by sequence number instead.
   */
  reportBatchItemFailures: false,
  /**
   * Timeout of the aggregate function. A batch is retried as a whole on timeout; 60 s leaves room for
   * throttled DynamoDB writes to back off.
   */
  functionTimeoutSeconds: 60,
} as const;

/**
 * A shard's `lastActivityMs` is renewed when a batch starts (a lease), and a batch runs at most the aggregate
 * function's timeout: a shard counts as idle only after the views' idle timeout and the function timeout have
 * both passed, so a shard whose batch is still running is never left out of the watermark.
 */
export function shardIdleAfterMs(idleTimeoutMs: number): number {
  return idleTimeoutMs + EVENT_SOURCE.functionTimeoutSeconds * 1_000;
}

/**
 * How often the aggregate function also runs on a schedule to publish windows that became final while no
 * batch came along (when every shard is idle, the watermark advances without records). EventBridge rules
 * run at most once a minute; the local runtime runs it every `localEverySeconds`.
 */
export const EMIT_SCHEDULE = { everyMinutes: 1, localEverySeconds: 2 } as const;

/** Names of the resources the local runtime creates (the CDK app lets CloudFormation name them). */
export const LOCAL_RESOURCES = {
  streamName: 'eddy-events',
  tableName: 'eddy-state',
  // One shard locally: the watermark then never waits for an idle shard to time out (idle timeout plus the
  // function timeout), so windows turn final as soon as later events arrive. `npm start -- --shards N` for more.
  shardCount: 1,
} as const;
