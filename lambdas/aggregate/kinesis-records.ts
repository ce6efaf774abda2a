/** Turns the records of a Lambda Kinesis event into the aggregator's batch records. */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { BatchRecord } from '../core/batch-aggregator.ts';
import { decodeRecord } from '../core/record-codec.ts';

/** Kinesis sequence numbers are decimal strings of varying length; padded, they compare as strings. */
const SEQ_DIGITS = 64;

export function paddedSequence(sequenceNumber: string): string {
  return sequenceNumber.padStart(SEQ_DIGITS, '0');
}

/** `eventID` is `shardId-000000000000:<sequence number>`. */
export function shardIdOf(record: KinesisStreamRecord): string {
  const id = record.eventID;
  const colon = id.indexOf(':');
  if (colon <= 0) throw new Error(`Kinesis record eventID ${JSON.stringify(id)} has no shard id`);
  return id.slice(0, colon);
}

export function toBatchRecord(record: KinesisStreamRecord): BatchRecord {
  const decoded = decodeRecord(Buffer.from(record.kinesis.data, 'base64'));
  return {
    seq: paddedSequence(record.kinesis.sequenceNumber),
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    items: decoded.items,
    ...(decoded.origin !== undefined ? { origin: decoded.origin } : {}),
    ...(decoded.error ? { error: decoded.error } : {}),
  };
}
