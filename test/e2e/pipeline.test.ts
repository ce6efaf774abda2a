/**
 * The whole pipeline over real HTTP: the local runtime with kinesis-local and dynalite, the real handlers,
 * real base64 Kinesis records and the shard poller that behaves like Lambda's event source mapping.
 */
import { isDeepStrictEqual } from 'node:util';
import { PutRecordsCommand, type PutRecordsCommandOutput, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import type { PipelineCounters } from '../../lambdas/core/conservation.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { kplRecord } from '../support/kpl.ts';
import { Api, type Reply, type StatusCounts, startPipeline, TestClock } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;
const clock = new TestClock();

beforeAll(async () => {
  pipeline = await startPipeline();
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

/** How far /status's event counters move when nothing happens; a test spells out the ones its events move. */
const NOTHING: PipelineCounters = {
  accepted: 0,
  rejected: 0,
  processed: 0,
  late: 0,
  deadLettered: 0,
  givenUp: 0,
  duplicates: 0,
  inFlight: 0,
};

const bid = (auction: number | string, price: number, dateTime: number | string) => ({
  type: 'bid',
  auction,
  bidder: 7,
  price,
  dateTime,
});

describe('POST /events → results', () => {
  it('aggregates accepted events into the tumbling window of their event time, per group', async () => {
    const t = clock.windows(2);
    const reply = await api.post([
      bid(101, 10, t + 1),
      bid(101, 30, new Date(t + 9_999).toISOString()),
      bid(102, 5, t + 2),
      bid(101, 7, t + 10_000),
    ]);
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ accepted: 4, rejected: [] });
    await api.drained();

    const res = await api.get(`/views/bids_per_auction/results?auction=101&from=${t}&to=${t + 20_000}`);
    expect(res.status).toBe(200);
    expect(res.body.group).toEqual({ auction: '101' });
    expect(
      res.body.results.map((r: { windowStart: string; measures: unknown }) => [r.windowStart, r.measures]),
    ).toEqual([
      [new Date(t).toISOString(), { count: 2, sum_price: 40, min_price: 10, max_price: 30, avg_price: 20 }],
      [new Date(t + 10_000).toISOString(), { count: 1, sum_price: 7, min_price: 7, max_price: 7, avg_price: 7 }],
    ]);
    expect(res.body.results[0].windowEnd).toBe(new Date(t + 10_000).toISOString());
  });

  it('reports rejected events by index with 207 and ingests the valid ones', async () => {
    const reply = await api.post([bid(201, 1, clock.windows()), { type: 'bid', auction: 201 }, 'nope']);
    expect(reply.status).toBe(207);
    expect(reply.body).toEqual({
      accepted: 1,
      rejected: [
        { index: 1, error: "event time field 'dateTime' is missing" },
        { index: 2, error: 'event is a string, not a JSON object' },
      ],
    });
  });

  it('accepts NDJSON', async () => {
    const t = clock.windows();
    const body = `${JSON.stringify(bid(301, 1, t))}\n${JSON.stringify(bid(301, 2, t + 1))}\n`;
    const reply = await api.post(body, { 'content-type': 'application/x-ndjson' });
    expect(reply.body).toEqual({ accepted: 2, rejected: [] });
    await api.drained();
    const res = await api.get(`/views/bids_per_auction/results?auction=301`);
    expect(res.body.results[0].measures.count).toBe(2);
  });

  it('pages through windows with limit and nextCursor', async () => {
    const t = clock.windows(5);
    await api.post([0, 1, 2, 3, 4].map((i) => bid(401, i, t + i * 10_000)));
    await api.drained();
    const first = await api.get(`/views/bids_per_auction/results?auction=401&limit=2`);
    expect(first.body.results.map((r: { measures: { sum_price: number } }) => r.measures.sum_price)).toEqual([0, 1]);
    const second = await api.get(`/views/bids_per_auction/results?auction=401&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.results.map((r: { measures: { sum_price: number } }) => r.measures.sum_price)).toEqual([2, 3]);
    const third = await api.get(`/views/bids_per_auction/results?auction=401&limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body.results.map((r: { measures: { sum_price: number } }) => r.measures.sum_price)).toEqual([4]);
    expect(third.body.nextCursor).toBeNull();
  });

  it('does not count a retried POST with the same Idempotency-Key twice', async () => {
    const t = clock.windows();
    const events = [bid(501, 3, t), bid(501, 4, t + 1)];
    const first = await api.post(events, { 'idempotency-key': 'order-501-attempt' });
    const retry = await api.post(events, { 'idempotency-key': 'order-501-attempt' });
    expect(retry.status).toBe(first.status);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replay')).toBe('true');
    await api.drained();
    const res = await api.get(`/views/bids_per_auction/results?auction=501`);
    expect(res.body.results[0].measures.count).toBe(2);
  });
});

describe('records written straight to the stream by other producers', () => {
  // GIVEN one-event-per-record JSON, a KPL-aggregated record and an unreadable record between them.
  let unreadable: PutRecordsResultEntry;
  let counted: StatusCounts;
  beforeAll(async () => {
    const t = clock.windows();
    let put: PutRecordsCommandOutput | undefined;
    counted = await api.countsOf(async () => {
      put = await pipeline.kinesis.send(
        new PutRecordsCommand({
          StreamName: pipeline.streamName,
          Records: [
            { PartitionKey: 'a', Data: Buffer.from(JSON.stringify(bid(601, 50, t))) },
            { PartitionKey: 'a', Data: Buffer.from('this is not json') },
            { PartitionKey: 'a', Data: Buffer.from(JSON.stringify(bid(601, 70, t + 5))) },
            // Aggregated by the Kinesis Producer Library: two events in one record.
            {
              PartitionKey: 'a',
              Data: kplRecord([JSON.stringify(bid(601, 1, t + 6)), JSON.stringify(bid(601, 2, t + 7))]),
            },
          ],
        }),
      );
    });
    unreadable = put!.Records![1]!;
  });

  it('counts their events processed or dead-lettered, not accepted: they did not come through the API', () => {
    expect(counted.events).toEqual({ ...NOTHING, processed: 4, deadLettered: 1, inFlight: -5 });
  });

  it('aggregates one-event-per-record JSON and KPL-aggregated records', async () => {
    const res = await api.get(`/views/bids_per_auction/results?auction=601`);
    expect(res.body.results[0].measures).toMatchObject({ count: 4, sum_price: 123 });
  });

  it('sets aside an unreadable record as a dead letter, with the reason', async () => {
    const dead = await api.get('/dead-letters');
    expect(dead.body.deadLetters).toContainEqual(
      expect.objectContaining({
        shardId: unreadable.ShardId,
        sequenceNumber: unreadable.SequenceNumber,
        index: 0,
        reason: expect.stringMatching(/^line 1 is not JSON/),
      }),
    );
  });
});

describe('late events', () => {
  // GIVEN a window made final by later events on every shard; WHEN an event of that window arrives four times.
  let late: ReturnType<typeof bid>;
  let resultsBefore: Reply<{ results: unknown[] }>;
  let resultsAfter: Reply<{ results: unknown[] }>;
  let counted: StatusCounts;
  beforeAll(async () => {
    const t = clock.windows();
    await api.post([bid(701, 1, t)]);
    await api.drained();
    // Move the watermark past the window's end + allowed lateness on every shard.
    await api.postOnEveryShard(bid(702, 1, clock.windows()));
    resultsBefore = await api.get(`/views/bids_per_auction/results?auction=701`);
    late = bid(701, 99, t + 5);
    counted = await api.countsOf(async () => {
      for (let i = 0; i < 4; i++) await api.post([late]);
    });
    resultsAfter = await api.get(`/views/bids_per_auction/results?auction=701`);
  });

  it('leaves the final result unchanged', () => {
    expect(resultsBefore.body.results[0]).toMatchObject({ final: true, measures: { count: 1 } });
    expect(resultsAfter.body.results).toEqual(resultsBefore.body.results);
  });

  it('counts each late event once as late and processed, and as late in the view whose window was final', () => {
    expect(counted.events).toEqual({ ...NOTHING, accepted: 4, processed: 4, late: 4 });
    expect(counted.lateByView.bids_per_auction).toBe(4);
  });

  it('keeps each late event readable at GET /late, with the reason', async () => {
    const side = await api.get('/late?view=bids_per_auction');
    const mine = side.body.late.filter((e: { event: unknown }) => isDeepStrictEqual(e.event, late));
    expect(mine).toEqual(
      Array.from({ length: 4 }, () =>
        expect.objectContaining({ view: 'bids_per_auction', reason: expect.stringContaining('final at watermark') }),
      ),
    );
  });
});

describe('GET /status', () => {
  it('shows that nothing was lost: every accepted event is processed or dead-lettered once drained', async () => {
    const t = clock.windows();
    const counted = await api.countsOf(async () => {
      // The last is accepted, and dead-lettered by the aggregator: its group is longer than a key may be.
      const reply = await api.post([
        bid(801, 1, t),
        bid(801, 2, t + 1),
        bid(802, 3, t + 2),
        bid('x'.repeat(600), 4, t),
      ]);
      expect(reply.status).toBe(202);
    });
    expect(counted.events.accepted).toBe(counted.events.processed + counted.events.deadLettered);
    expect(counted.events).toEqual({ ...NOTHING, accepted: 4, processed: 3, deadLettered: 1 });
  });

  it('counts the events rejected at ingest apart from those accepted', async () => {
    const counted = await api.countsOf(() => api.post([bid(804, 1, clock.windows()), { type: 'bid' }, 'nope']));
    expect(counted.events).toEqual({ ...NOTHING, accepted: 1, rejected: 2, processed: 1 });
    expect(counted.requestsRejected).toBe(0);
  });

  it('shows the watermark: the newest event time less the out-of-orderness, once every shard has read it', async () => {
    const t = clock.windows();
    await api.postOnEveryShard(bid(805, 1, t + 9_000));
    const { body } = await api.get('/status');
    expect(body.watermark).toBe(new Date(t + 9_000 - 4_000).toISOString());
  });
});

describe('API errors name what is wrong', () => {
  it('404 for an unknown view, listing the views', async () => {
    const res = await api.get('/views/nope/results');
    expect(res.status).toBe(404);
    expect(res.body.error).toContain('bids_per_auction');
  });

  it('400 for a bad parameter, naming it', async () => {
    expect((await api.get('/views/bids_per_auction/results?from=yesterday')).body.error).toMatch(
      /^from: 'yesterday' is not a time/,
    );
    expect((await api.get('/views/bids_per_auction/results?auctoin=1')).body.error).toMatch(
      /unknown parameter 'auctoin'/,
    );
    expect((await api.get('/views/bids_per_auction/results?limit=0')).status).toBe(400);
  });

  it('415 for a form post, 400 for malformed JSON', async () => {
    expect((await api.post('a=b', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await api.post('{"type":', {})).status).toBe(400);
  });

  it('GET /views lists the view definitions, the event-time field and the watermark settings', async () => {
    const res = await api.get('/views');
    expect(res.body.views).toEqual(defaults.views);
    expect(res.body.eventTimeField).toBe('dateTime');
    expect(res.body.watermark).toEqual({ outOfOrdernessMs: 4_000, allowedLatenessMs: 5_000, idleTimeoutMs: 30_000 });
  });

  it('GET /health is 200', async () => {
    expect((await api.get('/health')).status).toBe(200);
  });
});
