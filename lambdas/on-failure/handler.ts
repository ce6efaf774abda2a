/**
 * On-failure queue → given-up batches in the table. The event source mappings send a message for each batch
 * they gave up on (retries exhausted, or records too old); this records it, with the number of events in its
 * records read back from the stream, so that GET /status counts them (the conservation law still closes),
 * GET /failed-batches lists them, and `npm run redrive` finds them.
 *
 * A message that cannot be recorded is reported as failed and stays in the queue, to be tried again; a
 * message delivered twice is recorded once.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createKinesisClient, requireEnv } from '../adapters/aws-clients.ts';
import { createStateStore, logger } from '../adapters/environment.ts';
import { RESOURCE_ENV } from '../adapters/permissions.ts';
import { StreamRangeReader } from '../adapters/stream-range-reader.ts';
import type { StateStore } from '../core/store.ts';
import { eventsInRecord, failedBatchOf } from './on-failure-record.ts';
import type { ON_FAILURE_STORE_CALLS } from './permissions.ts';

// Typed to the calls the function is granted (./permissions.ts): calling anything else does not compile.
const store: Pick<StateStore, (typeof ON_FAILURE_STORE_CALLS)[number]> = createStateStore();
const reader = new StreamRangeReader(createKinesisClient());
const streamName = requireEnv(RESOURCE_ENV.stream);

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const message of event.Records) {
    try {
      await record(JSON.parse(message.body));
    } catch (err) {
      logger.error('on-failure message not recorded; it stays in the queue', {
        error: err as Error,
        messageId: message.messageId,
      });
      batchItemFailures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures };
};

async function record(message: unknown): Promise<void> {
  const batch = failedBatchOf(message);
  const events = batch.source === 'aggregate' ? await countEvents(batch) : null;
  const created = await store.putFailedBatch({ ...batch, events, redrive: null });
  logger.warn(created ? 'batch given up on, recorded' : 'batch given up on, already recorded', { ...batch, events });
}

/**
 * Events in the given-up records, read back from the stream; null when it no longer holds them all (then
 * they stay counted in `inFlight`). Only the stream this function is granted is read.
 */
async function countEvents(batch: ReturnType<typeof failedBatchOf>): Promise<number | null> {
  if (!batch.streamArn.endsWith(`:stream/${streamName}`)) return null;
  const records = await reader.read(batch.streamArn, batch.shardId, batch.startSequenceNumber, batch.endSequenceNumber);
  if (
    records === null ||
    records.length !== batch.records ||
    records[0]!.SequenceNumber !== batch.startSequenceNumber
  ) {
    return null;
  }
  return records.reduce((sum, r) => sum + eventsInRecord(r.Data!), 0);
}
