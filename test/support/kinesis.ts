/** Builders for real Lambda Kinesis events: base64 data, shard-prefixed event ids, real sequence numbers. */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { packEvents } from '../../lambdas/core/record-codec.ts';

let counter = 0n;

/** A 56-digit sequence number like Kinesis' own, increasing with each call. */
export function nextSequenceNumber(): string {
  counter += 1n;
  return (49_680_513_236_017_449_319_554_262_962_508_337_980_468_880_808_096_000_000n + counter * 1000n).toString();
}

export function kinesisRecord(shardId: string, data: Uint8Array, arrivalMs = Date.now()): KinesisStreamRecord {
  const sequenceNumber = nextSequenceNumber();
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'pk',
      sequenceNumber,
      data: Buffer.from(data).toString('base64'),
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/test',
  };
}

/** One packed (gzip NDJSON) record holding `events`, as ingest writes them (for a request with `idempotencyKey`). */
export function packedRecord(
  shardId: string,
  events: readonly unknown[],
  arrivalMs = Date.now(),
  idempotencyKey?: string,
): KinesisStreamRecord {
  const packed = packEvents(
    events.map((e, index) => ({ index, json: JSON.stringify(e) })),
    idempotencyKey,
  );
  if (packed.length !== 1) throw new Error('test events do not fit one record');
  return kinesisRecord(shardId, packed[0]!.data, arrivalMs);
}

export function kinesisEvent(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}
