/**
 * The whole pipeline over real HTTP: the local runtime with kinesis-local and dynalite, the real handlers,
 * real base64 Kinesis records and the shard poller that behaves like Lambda's event source mapping.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { kplRecord } from '../support/kpl.ts';
import { Api, startPipeline, TestClock } from './support.ts';

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
  it('aggregates one-event-per-record JSON and KPL-aggregated records, and sets aside unreadable records with the reason', async () => {
    const t = clock.windows();
    await pipeline.kinesis.send(
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
    await api.drained();
    const res = await api.get(`/views/bids_per_auction/results?auction=601`);
    expect(res.body.results[0].measures).toMatchObject({ count: 4, sum_price: 123 });
    const dead = await api.get('/dead-letters');
    expect(dead.body.deadLetters).toContainEqual(
      expect.objectContaining({
        index: 0,
        reason: expect.stringMatching(/^line 1 is not JSON/),
        shardId: expect.any(String),
      }),
    );
  });
});

describe('late events', () => {
  it('counts an event whose window is final as late, keeps it readable, and leaves the final result unchanged', async () => {
    const t = clock.windows();
    await api.post([bid(701, 1, t)]);
    await api.drained();
    // Move the watermark past the window's end + allowed lateness on every shard: each POST is one record on
    // a random shard, so send several.
    const ahead = clock.windows();
    for (let i = 0; i < 8; i++) await api.post([bid(702, 1, ahead)]);
    await api.drained();
    const before = await api.get(`/views/bids_per_auction/results?auction=701`);
    expect(before.body.results[0]).toMatchObject({ final: true, measures: { count: 1 } });

    const late = bid(701, 99, t + 5);
    for (let i = 0; i < 4; i++) await api.post([late]);
    await api.drained();
    const after = await api.get(`/views/bids_per_auction/results?auction=701`);
    expect(after.body.results).toEqual(before.body.results);
    const side = await api.get('/late?view=bids_per_auction');
    expect(side.body.late).toContainEqual(
      expect.objectContaining({
        view: 'bids_per_auction',
        event: late,
        reason: expect.stringContaining('final at watermark'),
      }),
    );
    const status = await api.get('/status');
    expect(status.body.events.late).toBeGreaterThanOrEqual(4);
    expect(status.body.lateByView.bids_per_auction).toBeGreaterThanOrEqual(4);
  });
});

describe('GET /status', () => {
  it('shows that nothing was lost: accepted = processed + dead-lettered once drained', async () => {
    await api.drained();
    const { body } = await api.get('/status');
    const direct = 5; // the events written straight to the stream, not through the API (one record unreadable)
    expect(body.events.accepted + direct).toBe(body.events.processed + body.events.deadLettered);
    expect(body.events.rejected).toBeGreaterThanOrEqual(2);
    expect(body.watermark).toEqual(expect.any(String));
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
