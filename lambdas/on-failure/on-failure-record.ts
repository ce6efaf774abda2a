/**
 * What an event source mapping sends to its on-failure destination for a stream (Kinesis or a DynamoDB
 * table's stream), and the given-up batch it describes.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
 */

import { decodeRecord } from '../core/record-codec.ts';
import type { FailedBatch, FailedBatchSource } from '../core/store.ts';

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** Where the given-up records are: metadata that points at them, never the records themselves. */
export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

interface OnFailureRecordBase {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: FailureCondition;
    readonly approximateInvokeCount: number;
  };
  /** Absent when the records aged out before the function was ever invoked with them. */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
}

/** The aggregator's event source mapping (the event stream). */
export interface KinesisOnFailureRecord extends OnFailureRecordBase {
  readonly KinesisBatchInfo: StreamBatchInfo;
}

/** The publisher's event source mapping (the table's stream); it shares the on-failure queue. */
export interface DynamoDbStreamOnFailureRecord extends OnFailureRecordBase {
  readonly DDBStreamBatchInfo: StreamBatchInfo;
}

export type StreamOnFailureRecord = KinesisOnFailureRecord | DynamoDbStreamOnFailureRecord;

/**
 * The given-up batch an on-failure record describes (its events not yet counted). Throws naming what is
 * missing when the message is not an on-failure record of a stream source.
 */
export function failedBatchOf(message: unknown): Omit<FailedBatch, 'events' | 'redrive'> {
  const record = message as Partial<KinesisOnFailureRecord & DynamoDbStreamOnFailureRecord> | null;
  const kinesis = record?.KinesisBatchInfo;
  const info = kinesis ?? record?.DDBStreamBatchInfo;
  const source: FailedBatchSource = kinesis ? 'aggregate' : 'publish';
  if (typeof info !== 'object' || info === null) {
    throw new Error(
      'not an on-failure record of a stream source: it has neither KinesisBatchInfo nor DDBStreamBatchInfo',
    );
  }
  const text = (name: keyof StreamBatchInfo): string => {
    const value = info[name];
    if (typeof value !== 'string' || value === '') throw new Error(`on-failure record: ${name} is missing`);
    return value;
  };
  const time = (value: unknown, name: string): number => {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) throw new Error(`on-failure record: ${name} ${JSON.stringify(value)} is not a time`);
    return ms;
  };
  return {
    source,
    streamArn: text('streamArn'),
    shardId: text('shardId'),
    startSequenceNumber: text('startSequenceNumber'),
    endSequenceNumber: text('endSequenceNumber'),
    records: Number(info.batchSize) || 0,
    reason: String(record?.requestContext?.condition ?? 'unknown'),
    invokeCount: Number(record?.requestContext?.approximateInvokeCount) || 0,
    failedAtMs: time(record?.timestamp, 'timestamp'),
    firstArrivalMs: time(info.approximateArrivalOfFirstRecord, 'approximateArrivalOfFirstRecord'),
    lastArrivalMs: time(info.approximateArrivalOfLastRecord, 'approximateArrivalOfLastRecord'),
  };
}

/**
 * Events a Kinesis record carries, as the aggregator would count them: each item is processed or
 * dead-lettered, and a record that cannot be read at all is one dead letter.
 */
export function eventsInRecord(data: Uint8Array): number {
  const decoded = decodeRecord(data);
  return decoded.items.length + (decoded.error ? 1 : 0);
}
