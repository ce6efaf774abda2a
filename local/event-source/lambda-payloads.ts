/**
 * What the event source mapping exchanges with Lambda, shaped as Lambda shapes it: the Kinesis event it
 * invokes the function with (and how many records fit in one), the partial batch response it reads back,
 * and the record it sends to the on-failure destination when it gives records up.
 */
import { randomUUID } from 'node:crypto';
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_REGION } from '../aws-clients.ts';
import { executionRoleArn, functionArn } from '../lambda-runtime.ts';
import type { FailureCondition, KinesisOnFailureRecord } from '../on-failure-destination.ts';

/** Lambda's invocation payload limit for synchronous calls. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Room for a record's JSON envelope around its base64 data (ids, ARNs, timestamps). */
const RECORD_ENVELOPE_BYTES = 600;

/** Where a batch comes from and which function it is for. */
export interface BatchSource {
  readonly shardId: string;
  readonly streamArn: string;
  readonly functionName: string;
}

/** The sequence number and arrival (epoch ms) a record is delivered under. */
export interface DeliveredAs {
  readonly seq: string;
  readonly arrivalMs: number;
}

/** The next batch from the front of the buffer: at most `batchSize` records and ~6 MB of event payload. */
export function takeBatch(buffer: readonly KinesisRecord[], batchSize: number): KinesisRecord[] {
  let bytes = 0;
  let count = 0;
  for (const record of buffer) {
    if (count === batchSize) break;
    bytes += Math.ceil((record.Data?.length ?? 0) / 3) * 4 + RECORD_ENVELOPE_BYTES;
    if (count > 0 && bytes > MAX_PAYLOAD_BYTES) break;
    count++;
  }
  return buffer.slice(0, count);
}

/** The event Lambda invokes the function with: each record base64-encoded, under the identity `deliveredAs` gives it. */
export function kinesisEvent(
  batch: readonly KinesisRecord[],
  source: BatchSource,
  deliveredAs: (record: KinesisRecord) => DeliveredAs,
): KinesisStreamEvent {
  const invokeIdentityArn = executionRoleArn(source.functionName);
  return {
    Records: batch.map((r): KinesisStreamRecord => {
      const { seq, arrivalMs } = deliveredAs(r);
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.PartitionKey!,
          sequenceNumber: seq,
          data: Buffer.from(r.Data!).toString('base64'),
          approximateArrivalTimestamp: arrivalMs / 1_000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${source.shardId}:${seq}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn,
        awsRegion: LOCAL_REGION,
        eventSourceARN: source.streamArn,
      };
    }),
  };
}

/**
 * Reads a partial batch response. Like Lambda: no failures (or no response) is success; an item identifier
 * that is empty or not a sequence number of this batch fails the whole batch; otherwise processing resumes at
 * the lowest failed sequence number.
 */
export function firstFailedIndex(batch: readonly KinesisRecord[], response: unknown): number | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  let first = batch.length;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => r.SequenceNumber === id) : -1;
    if (index === -1) return 0;
    first = Math.min(first, index);
  }
  return first;
}

/**
 * What Lambda sends to the on-failure destination for `records` given up on `condition`: metadata pointing at
 * the records, never the records themselves. `invocations` is how often the function was invoked with them
 * (0 when they aged out before it ever was, and then there is no response context).
 */
export function onFailureRecord(
  records: readonly KinesisRecord[],
  source: BatchSource,
  failure: { readonly condition: FailureCondition; readonly invocations: number; readonly nowMs: number },
): KinesisOnFailureRecord {
  const first = records[0]!;
  const last = records.at(-1)!;
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: functionArn(source.functionName),
      condition: failure.condition,
      approximateInvokeCount: failure.invocations,
    },
    ...(failure.invocations > 0
      ? { responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' } }
      : {}),
    version: '1.0',
    timestamp: new Date(failure.nowMs).toISOString(),
    KinesisBatchInfo: {
      shardId: source.shardId,
      startSequenceNumber: first.SequenceNumber!,
      endSequenceNumber: last.SequenceNumber!,
      approximateArrivalOfFirstRecord: first.ApproximateArrivalTimestamp!.toISOString(),
      approximateArrivalOfLastRecord: last.ApproximateArrivalTimestamp!.toISOString(),
      batchSize: records.length,
      streamArn: source.streamArn,
    },
  };
}
