/**
 * Given-up batches, end to end: the real aggregate handler behind a stand-in that fails every batch holding a
 * "poison" event while the cause is not fixed. The event source mapping bisects down to the poison record,
 * retries it once and gives up on it (on-failure); the real on-failure function records it. /status must
 * count it so the conservation law closes, GET /failed-batches must list it, and `npm run redrive` (run
 * in-process against the pipeline's data directory) must apply it exactly once after the fix.
 */
import type { Handler, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../lambdas/core/record-codec.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { main as redrive } from '../../scripts/redrive.ts';
import { Api, startPipeline, TestClock } from './support.ts';

/** As the local event source mapping invokes it (local/event-source). */
type KinesisHandler = Handler<KinesisStreamEvent, KinesisStreamBatchResponse | undefined>;

let pipeline: LocalPipeline;
let api: Api;
const clock = new TestClock();
/** The cause of the failures: while set, a batch holding a poison event fails. */
let poisoned = true;

const carriesPoison = (event: KinesisStreamEvent) =>
  event.Records.some((r) =>
    decodeRecord(Buffer.from(r.kinesis.data, 'base64')).items.some(
      (item) => 'value' in item && (item.value as { poison?: unknown } | null)?.poison === true,
    ),
  );

beforeAll(async () => {
  let real: KinesisHandler | undefined;
  const failsOnPoison: KinesisHandler = async (event, context) => {
    if (poisoned && carriesPoison(event)) throw new Error('cannot aggregate a poison event');
    // Imported on first use: the handler reads the environment the pipeline sets up.
    real ??= (await import('../../lambdas/aggregate/handler.ts')).handler as KinesisHandler;
    await real(event, context, () => undefined);
    return undefined;
  };
  pipeline = await startPipeline({
    shards: 1,
    handlers: { aggregate: failsOnPoison },
    eventSource: { batchSize: 10, retryAttempts: 1 },
  });
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

const bid = (auction: number, price: number, dateTime: number, extra: Record<string, unknown> = {}) => ({
  type: 'bid',
  auction,
  bidder: 3,
  price,
  dateTime,
  ...extra,
});

/** `npm run redrive -- --data-dir <the pipeline's>`, in-process: its exit code and what it printed. */
async function runRedrive(): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await redrive(['--data-dir', pipeline.dataDir], {
    out: (t) => lines.push(t),
    err: (t) => lines.push(t),
  });
  return { code, out: lines.join('\n') };
}

const results = async (auction: number, t: number) =>
  (await api.get(`/views/bids_per_auction/results?auction=${auction}&from=${t}&to=${t + 10_000}`)).body.results;

describe('a batch the event source mapping gives up on', () => {
  const t = clock.windows();
  let expectedSum = 0;

  beforeAll(async () => {
    const good = (from: number) =>
      Array.from({ length: 3 }, (_, i) => {
        expectedSum += from + i;
        return bid(7001, from + i, t + from + i);
      });
    expect((await api.post(good(100))).status).toBe(202);
    expectedSum += 5 + 6;
    expect((await api.post([bid(7001, 5, t + 500), bid(7001, 6, t + 600, { poison: true })])).status).toBe(202);
    expect((await api.post(good(700))).status).toBe(202);
    await api.drained();
  });

  it('is counted in /status, so accepted = processed + deadLettered + givenUp + inFlight with nothing in flight', async () => {
    const status = await api.get('/status');

    expect(status.body.events).toMatchObject({ accepted: 8, processed: 6, deadLettered: 0, givenUp: 2, inFlight: 0 });
    expect(status.body.failedBatches).toEqual({ pending: 1, records: 1, eventsUnknown: 0, redriven: 0 });
  });

  it('is listed by GET /failed-batches with its shard, sequence range, reason and time', async () => {
    const res = await api.get('/failed-batches');

    expect(res.status).toBe(200);
    expect(res.body.failedBatches).toHaveLength(1);
    const [batch] = res.body.failedBatches;
    expect(batch).toMatchObject({
      source: 'aggregate',
      shardId: 'shardId-000000000000',
      records: 1,
      events: 2,
      reason: 'RetryAttemptsExhausted',
      redrive: null,
    });
    expect(batch.startSequenceNumber).toBe(batch.endSequenceNumber);
    expect(Date.parse(batch.failedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.nextCursor).toBeNull();
  });

  it('leaves its events out of the results while the other batches are aggregated', async () => {
    expect((await results(7001, t))[0].measures.count).toBe(6);
  });

  it('is applied exactly once by npm run redrive once the cause is fixed', async () => {
    poisoned = false;

    const { code, out } = await runRedrive();

    expect(code, out).toBe(0);
    expect(out).toMatch(/redriven {6}shardId-000000000000 .*: 2 processed, 0 late, 0 dead-lettered/);
    expect((await results(7001, t))[0].measures).toMatchObject({ count: 8, sum_price: expectedSum });
    const status = await api.get('/status');
    expect(status.body.events).toMatchObject({ accepted: 8, processed: 8, givenUp: 0, inFlight: 0 });
    expect(status.body.failedBatches).toEqual({ pending: 0, records: 0, eventsUnknown: 0, redriven: 1 });
  });

  it('lists the batch as redriven, under a shard of its own that /status does not show as a stream shard', async () => {
    const [batch] = (await api.get('/failed-batches')).body.failedBatches;
    const status = await api.get('/status');

    expect(batch.redrive).toMatchObject({
      shardId: `redrive:shardId-000000000000:${batch.startSequenceNumber}`,
      processed: 2,
      late: 0,
      deadLettered: 0,
    });
    expect(status.body.shards.map((s: { shardId: string }) => s.shardId)).toEqual(['shardId-000000000000']);
  });

  it('is not applied again by a second redrive', async () => {
    const before = [await results(7001, t), (await api.get('/status')).body.events];

    const { code, out } = await runRedrive();

    expect(code, out).toBe(0);
    expect(out).toMatch(/No given-up batches to redrive/);
    expect([await results(7001, t), (await api.get('/status')).body.events]).toEqual(before);
  });
});

describe('a given-up batch whose windows became final before the redrive', () => {
  const t = clock.windows(7);

  beforeAll(async () => {
    poisoned = true;
    expect((await api.post([bid(7002, 1, t + 100), bid(7002, 2, t + 200, { poison: true })])).status).toBe(202);
    await api.drained();
    // A minute later in event time: the window of the given-up events is final by now.
    expect((await api.post([bid(7003, 1, t + 60_000)])).status).toBe(202);
    await api.drained();
    poisoned = false;
  });

  it('has its events counted late and kept in GET /late, not added to a final window', async () => {
    const lateBefore = (await api.get('/status')).body.events.late;

    const { code, out } = await runRedrive();

    expect(code, out).toBe(0);
    expect(out).toMatch(/: 2 processed, 2 late, 0 dead-lettered/);
    expect(await results(7002, t)).toEqual([]);
    const status = await api.get('/status');
    expect(status.body.events.late - lateBefore).toBe(2);
    expect(status.body.events).toMatchObject({ givenUp: 0, inFlight: 0 });
    const late = (await api.get('/late?view=bids_per_auction')).body.late.filter(
      (e: { event: { auction?: number } }) => e.event.auction === 7002,
    );
    expect(late.map((e: { shardId: string }) => e.shardId)).toEqual([
      expect.stringMatching(/^redrive:shardId-000000000000:/),
      expect.stringMatching(/^redrive:shardId-000000000000:/),
    ]);
  });
});
