/** Items the store tests write: a pane and a given-up batch, with what each test changes given as overrides. */
import type { FailedBatch, StoredPane } from '../../lambdas/core/store.ts';

export const storedPane = (over: Partial<StoredPane> = {}): StoredPane => ({
  viewId: 'v@1',
  groupKey: '["a"]',
  group: ['a'],
  paneStart: 10_000,
  shardId: 'shard-1',
  seq: '0001',
  count: 1,
  minTime: 10_001,
  maxTime: 10_001,
  partials: { count: 1, sum: { n: 2.5 } },
  ...over,
});

export const failedBatch = (failedAtMs: number, over: Partial<FailedBatch> = {}): FailedBatch => ({
  source: 'aggregate',
  streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
  shardId: 'shardId-000000000000',
  startSequenceNumber: `4968${failedAtMs}`,
  endSequenceNumber: `4969${failedAtMs}`,
  records: 2,
  events: 7,
  reason: 'RetryAttemptsExhausted',
  invokeCount: 11,
  failedAtMs,
  firstArrivalMs: failedAtMs - 1_000,
  lastArrivalMs: failedAtMs - 500,
  redrive: null,
  ...over,
});
