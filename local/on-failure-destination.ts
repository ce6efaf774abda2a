/**
 * The local stand-in for the event source mapping's on-failure queue (there is no SQS emulator here): every
 * record Lambda would send to SQS is kept in memory, appended to a JSON-lines file, and handed to the
 * queue's consumer (the on-failure function) as the SQS event source mapping would.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { KinesisOnFailureRecord } from '../lambdas/on-failure/on-failure-record.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './aws-clients.ts';

export type { FailureCondition, KinesisOnFailureRecord } from '../lambdas/on-failure/on-failure-record.ts';

export interface OnFailureDestination {
  send(record: KinesisOnFailureRecord): Promise<void>;
}

/** Hands a queued message to the queue's consumer; rejects if the consumer failed it. */
export type OnFailureConsumer = (event: SQSEvent) => Promise<void>;

/** The local queue's name, in the ARN the consumer sees as `eventSourceARN`. */
const QUEUE_NAME = 'eddy-on-failure';

export class JsonLinesOnFailureDestination implements OnFailureDestination {
  /** Every record sent since this destination was opened, oldest first. */
  readonly records: KinesisOnFailureRecord[] = [];

  private constructor(
    readonly file: string,
    private readonly consumer: OnFailureConsumer | undefined,
  ) {}

  /**
   * @param truncate start the file empty: an in-memory stream does not outlive the process, so records that
   *   point into an earlier run's stream would only mislead.
   * @param consumer the queue's consumer; without one, records are only kept.
   */
  static async open(
    file: string,
    options: { truncate: boolean; consumer?: OnFailureConsumer },
  ): Promise<JsonLinesOnFailureDestination> {
    await mkdir(path.dirname(file), { recursive: true });
    if (options.truncate) await writeFile(file, '');
    else await appendFile(file, '');
    return new JsonLinesOnFailureDestination(file, options.consumer);
  }

  /**
   * Keeps the record, then delivers it to the consumer. SQS would retry a failed delivery until the message
   * expires; here it is retried a few times, and the error (with the record still in the file) goes to the
   * caller, the event source mapping, which logs it.
   */
  async send(record: KinesisOnFailureRecord): Promise<void> {
    this.records.push(record);
    await appendFile(this.file, `${JSON.stringify(record)}\n`);
    if (!this.consumer) return;
    const event = sqsEventOf(record);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.consumer(event);
        return;
      } catch (err) {
        if (attempt === 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }
}

/** One SQS message holding the record, as the SQS event source mapping delivers it. */
export function sqsEventOf(record: KinesisOnFailureRecord): SQSEvent {
  const body = JSON.stringify(record);
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'AROAEDDYLOCAL:eddy-aggregate',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${QUEUE_NAME}`,
        awsRegion: LOCAL_REGION,
      },
    ],
  };
}
