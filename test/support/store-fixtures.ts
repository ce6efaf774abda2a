/** Items the store tests write: a given-up batch, with what each test changes given as overrides. */
import type { FailedBatch } from '../../lambdas/core/store.ts';

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
