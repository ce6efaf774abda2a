import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { firstFailedIndex, takeBatch } from '../../../local/event-source/lambda-payloads.ts';

/** Records as GetRecords returns them, numbered 1, 2, …, each with `bytes` bytes of data. */
const records = (n: number, bytes = 10): KinesisRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    SequenceNumber: String(i + 1),
    PartitionKey: `key-${i}`,
    Data: new Uint8Array(bytes),
    ApproximateArrivalTimestamp: new Date(1_700_000_000_000 + i),
  }));

describe('takeBatch', () => {
  it('takes at most the batch size', () => {
    expect(takeBatch(records(10), 4)).toHaveLength(4);
  });

  it('stops before the event would pass Lambda’s 6 MB payload limit', () => {
    // 2 MB of data is ~2.7 MB as base64: two such records fit, a third would not.
    expect(takeBatch(records(3, 2 * 1024 * 1024), 10)).toHaveLength(2);
  });

  it('takes a record larger than the limit alone rather than none', () => {
    expect(takeBatch(records(2, 5 * 1024 * 1024), 10)).toHaveLength(1);
  });
});

describe('firstFailedIndex', () => {
  const batch = records(5);

  it('reads no response as success', () => {
    expect(firstFailedIndex(batch, undefined)).toBeUndefined();
  });

  it('reads an empty list of failures as success', () => {
    expect(firstFailedIndex(batch, { batchItemFailures: [] })).toBeUndefined();
  });

  it('resumes at the lowest failed sequence number', () => {
    const response = { batchItemFailures: [{ itemIdentifier: '4' }, { itemIdentifier: '2' }] };

    expect(firstFailedIndex(batch, response)).toBe(1);
  });

  it('fails the whole batch when an identifier is not in the batch', () => {
    const response = { batchItemFailures: [{ itemIdentifier: '4' }, { itemIdentifier: '99' }] };

    expect(firstFailedIndex(batch, response)).toBe(0);
  });

  it('fails the whole batch when an identifier is empty', () => {
    expect(firstFailedIndex(batch, { batchItemFailures: [{ itemIdentifier: '' }] })).toBe(0);
  });
});
