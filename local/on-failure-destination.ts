/**
 * The local stand-in for the event source mapping's on-failure queue (there is no SQS emulator here): every
 * record Lambda would send to SQS is kept in memory and appended to a JSON-lines file.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/**
 * What Lambda sends to an on-failure destination for a Kinesis source: metadata that points at the discarded
 * records, never the records themselves (read them back from the stream with the sequence numbers).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
 */
export interface KinesisOnFailureRecord {
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
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface OnFailureDestination {
  send(record: KinesisOnFailureRecord): Promise<void>;
}

export class JsonLinesOnFailureDestination implements OnFailureDestination {
  /** Every record sent since this destination was opened, oldest first. */
  readonly records: KinesisOnFailureRecord[] = [];

  private constructor(readonly file: string) {}

  /**
   * @param truncate start the file empty: an in-memory stream does not outlive the process, so records that
   *   point into an earlier run's stream would only mislead.
   */
  static async open(file: string, options: { truncate: boolean }): Promise<JsonLinesOnFailureDestination> {
    await mkdir(path.dirname(file), { recursive: true });
    if (options.truncate) await writeFile(file, '');
    else await appendFile(file, '');
    return new JsonLinesOnFailureDestination(file);
  }

  async send(record: KinesisOnFailureRecord): Promise<void> {
    this.records.push(record);
    await appendFile(this.file, `${JSON.stringify(record)}\n`);
  }
}
