/**
 * POST /events → Kinesis. Events are checked one by one (a bad one is rejected by index, the rest go on),
 * packed many to a record, and written with PutRecords; an event is reported accepted only once Kinesis
 * confirmed its record.
 *
 * 202 all accepted · 207 some rejected · 400 unreadable body, too many events, or none valid · 409 the same
 * Idempotency-Key is being handled · 413 too large · 415 wrong content type · 503 the stream refused the write.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createKinesisClient, requireEnv } from '../adapters/aws-clients.ts';
import { createStateStore, loadPipelineConfig, logger } from '../adapters/environment.ts';
import { HttpError, header, json } from '../adapters/http.ts';
import { KinesisSink } from '../adapters/kinesis-sink.ts';
import { publishMetrics, tracedHandler } from '../adapters/observability.ts';
import { RESOURCE_ENV } from '../adapters/permissions.ts';
import { ingestMetrics } from '../adapters/pipeline-metrics.ts';
import { packEvents } from '../core/record-codec.ts';
import type { StateStore } from '../core/store.ts';
import { checkEvents, decodeBody, parseBody, type Rejection } from './event-batch.ts';
import type { INGEST_STORE_CALLS } from './permissions.ts';

const config = loadPipelineConfig();
// Typed to the calls the function is granted (./permissions.ts): calling anything else does not compile.
const store: Pick<StateStore, (typeof INGEST_STORE_CALLS)[number]> = createStateStore();
const sink = new KinesisSink(createKinesisClient(), requireEnv(RESOURCE_ENV.stream));

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

const handleRequest = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const key = header(event.headers, 'idempotency-key');
  let claimed: string | undefined;
  try {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new HttpError(400, 'Idempotency-Key header must be 1 to 128 printable ASCII characters without spaces');
    }
    const body = decodeBody(event.body, event.isBase64Encoded);
    const checked = checkEvents(
      parseBody(body, header(event.headers, 'content-type')),
      config.eventTimeField,
      Date.now(),
    );
    if (checked.valid.length === 0) {
      await store.addIngestCounts({ accepted: 0, rejected: checked.rejected.length });
      publishMetrics(ingestMetrics({ accepted: 0, rejected: checked.rejected.length }));
      return json(400, {
        accepted: 0,
        rejected: checked.rejected,
        error: 'no valid events in the body; nothing was ingested',
      });
    }
    if (key !== undefined) {
      const claim = await store.claimIdempotencyKey(key, Date.now());
      if (claim.state === 'done') {
        return {
          ...json(claim.response.statusCode, JSON.parse(claim.response.body)),
          headers: { 'content-type': 'application/json', 'idempotent-replay': 'true' },
        };
      }
      if (claim.state === 'in-progress') {
        throw new HttpError(409, `a request with Idempotency-Key '${key}' is being handled; retry in a few seconds`);
      }
    }
    claimed = key;
    const response = await ingest(checked.valid, checked.rejected, key);
    claimed = undefined;
    if (key !== undefined) {
      // Once anything is in the stream the key must stay taken: releasing it would let a retry send it twice.
      if (response.statusCode === 503) await store.releaseIdempotencyKey(key);
      else
        await store.completeIdempotencyKey(key, response).catch((err: unknown) => {
          logger.error('idempotency key not completed; a retry within 12 s gets 409', { error: err as Error, key });
        });
    }
    return response;
  } catch (err) {
    if (err instanceof HttpError) {
      // Refused as a whole, before any event was read: no event counter sees it. A 409 is not a refusal.
      if (err.statusCode !== 409) await countRejectedRequest();
      return json(err.statusCode, { error: err.message });
    }
    // Ingest reports partial writes instead of throwing: when it throws, nothing of this request was written.
    if (claimed !== undefined) await store.releaseIdempotencyKey(claimed).catch(() => undefined);
    throw err;
  }
};

export const handler = tracedHandler('ingest', handleRequest);

async function ingest(
  valid: Array<{ index: number; json: string }>,
  invalid: Rejection[],
  key: string | undefined,
): Promise<APIGatewayProxyResult> {
  // With a key, each record carries its origin: a retry after a crash that follows the stream write is
  // then dropped by the aggregator instead of counted twice.
  const { failed } = await sink.put(packEvents(valid, key));
  const rejected = [...invalid];
  // A retry with the same Idempotency-Key replays this response: events to send again need a new key.
  const again = key !== undefined ? 'send it again with a new Idempotency-Key' : 'send it again';
  for (const { record, error } of failed) {
    for (const index of record.indexes)
      rejected.push({ index, error: `the stream did not take the event (${error}); ${again}` });
  }
  rejected.sort((a, b) => a.index - b.index);
  const accepted = valid.length + invalid.length - rejected.length;
  try {
    await store.addIngestCounts({ accepted, rejected: rejected.length });
  } catch (err) {
    // The events are in the stream; failing the request now would make the producer send them twice.
    logger.error('ingest counters not updated; /status will under-count accepted events', {
      error: err as Error,
      accepted,
    });
  }
  publishMetrics(ingestMetrics({ accepted, rejected: rejected.length }));
  if (accepted === 0) return json(503, { accepted, rejected }, { 'retry-after': '1' });
  return json(rejected.length === 0 ? 202 : 207, { accepted, rejected });
}

/** Counts a request refused as a whole (GET /status `requestsRejected`); a counter failure never changes the answer. */
async function countRejectedRequest(): Promise<void> {
  await store.addIngestCounts({ requestsRejected: 1 }).catch((err: unknown) => {
    logger.error('rejected-request counter not updated; /status will under-count requestsRejected', {
      error: err as Error,
    });
  });
}
