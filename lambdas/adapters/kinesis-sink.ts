/**
 * Writes packed records to Kinesis with PutRecords. A PutRecords call can succeed while some of its records
 * fail (`FailedRecordCount`, usually throttling): those are retried with backoff, and only records Kinesis
 * confirmed are reported as written.
 */
import { randomBytes } from 'node:crypto';
import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';

import { sleep } from '../core/concurrency.ts';
import type { Permission } from './permissions.ts';

/** The sink's only call. */
export const KINESIS_SINK_PERMISSIONS: readonly Permission[] = [
  { resource: 'stream', actions: ['kinesis:PutRecords'] },
];

/** PutRecords takes at most 500 records and 5 MiB per call. */
const MAX_RECORDS_PER_CALL = 500;
const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;

export interface SinkResult<T> {
  readonly written: T[];
  readonly failed: Array<{ readonly record: T; readonly error: string }>;
}

export interface SinkOptions {
  readonly attempts: number;
  readonly baseDelayMs: number;
}

export class KinesisSink {
  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    private readonly options: SinkOptions = { attempts: 6, baseDelayMs: 50 },
  ) {}

  /** Writes every record; returns which were written and which still failed after the retries. */
  async put<T extends { readonly data: Uint8Array }>(records: readonly T[]): Promise<SinkResult<T>> {
    const written: T[] = [];
    const failed: SinkResult<T>['failed'] = [];
    for (const chunk of chunks(records)) {
      // A random partition key per record spreads packed records evenly over the shards: event time, not
      // arrival order, decides windows, so no key needs to stay on one shard.
      let pending = chunk.map((record) => ({ record, partitionKey: randomBytes(8).toString('hex'), error: '' }));
      for (let attempt = 0; pending.length > 0 && attempt < this.options.attempts; attempt++) {
        if (attempt > 0) await sleep(this.options.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
        const entries: PutRecordsRequestEntry[] = pending.map((p) => ({
          Data: p.record.data,
          PartitionKey: p.partitionKey,
        }));
        let out: PutRecordsCommandOutput;
        try {
          out = await this.client.send(new PutRecordsCommand({ StreamName: this.streamName, Records: entries }));
        } catch (err) {
          // The call failed as a whole (network, throttling past the SDK's retries): none of these records is
          // known to be written. Retry them; an exception must not hide records earlier calls did write.
          const error = `${(err as Error).name}: ${(err as Error).message}`;
          pending = pending.map((p) => ({ ...p, error }));
          continue;
        }
        const retry: typeof pending = [];
        pending.forEach((p, i) => {
          const result = out.Records?.[i];
          if (result?.SequenceNumber && !result.ErrorCode) written.push(p.record);
          else
            retry.push({
              ...p,
              error: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? 'no result for record'}`,
            });
        });
        pending = retry;
      }
      for (const p of pending) failed.push({ record: p.record, error: p.error });
    }
    return { written, failed };
  }
}

function* chunks<T extends { readonly data: Uint8Array }>(records: readonly T[]): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.data.byteLength + 16;
    if (chunk.length === MAX_RECORDS_PER_CALL || (chunk.length > 0 && bytes + size > MAX_BYTES_PER_CALL)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
