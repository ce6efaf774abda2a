/**
 * Poison records written straight to the stream, between good events: each is set aside as a dead letter with
 * its reason, no batch fails (nothing is retried, nothing reaches the on-failure destination), and the good
 * events around it are aggregated.
 */
import { gzipSync } from 'node:zlib';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { kplRecord } from '../support/kpl.ts';
import { Api, startPipeline, TestClock } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;

beforeAll(async () => {
  pipeline = await startPipeline();
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const TOO_DEEP = /^event is nested deeper than 32 levels of objects and arrays$/;

/** Writes one record; one partition key, so all records are on one shard, in this order. */
async function put(data: string | Buffer): Promise<string> {
  const out = await pipeline.kinesis.send(
    new PutRecordCommand({ StreamName: pipeline.streamName, PartitionKey: 'poison', Data: Buffer.from(data) }),
  );
  return out.SequenceNumber!;
}

describe('poison records written straight to the stream', () => {
  it('sets each aside as a dead letter with the reason, fails no batch, and aggregates the good events around them', async () => {
    const t = new TestClock().windows(4);
    const bid = (price: number, dateTime: number | string = t + price) =>
      JSON.stringify({ type: 'bid', auction: 'p1', bidder: 3, price, dateTime });
    const poisons: Array<{
      readonly name: string;
      readonly seq: string;
      readonly index: number;
      readonly reason: RegExp;
    }> = [];
    const poison = async (name: string, data: string | Buffer, reason: RegExp, index = 0) => {
      poisons.push({ name, seq: await put(data), index, reason });
    };

    await put(bid(1));
    await poison('a record nested 300,000 levels deep', deepArray(300_000), TOO_DEEP);
    await put(bid(2));
    await poison(
      'an event whose group field is 10,000 levels deep',
      `{"type":"bid","auction":${deepArray(10_000)},"price":5,"dateTime":${t + 5}}`,
      TOO_DEEP,
    );
    await put(bid(3));
    await poison('an NDJSON line nested 100,000 levels deep', `${bid(4)}\n${deepObject(100_000)}\n`, TOO_DEEP, 1);
    await poison(
      'a gzip record with an event whose kept field is deep',
      gzipSync(`{"type":"bid","auction":"p1","price":1e9,"bidder":${deepArray(5_000)},"dateTime":${t + 6}}\n`),
      TOO_DEEP,
    );
    await poison('a KPL user record nested too deeply', kplRecord([bid(7), deepArray(1_000)]), TOO_DEEP, 1);
    await put(bid(10_001));
    await poison(
      'an event time past year 9999',
      `{"type":"bid","auction":"p1","price":1,"dateTime":1e20}`,
      /^event time 'dateTime' is 100000000000000000000, after 9999-12-31T23:59:59\.999Z$/,
    );
    await poison(
      'an event time past what Date can hold',
      `{"type":"bid","auction":"p1","price":1,"dateTime":8640000000000001}`,
      /after 9999-12-31T23:59:59\.999Z$/,
    );
    await poison(
      'a date that is not in the calendar',
      `{"type":"bid","auction":"p1","price":1,"dateTime":"2026-02-30T00:00:00Z"}`,
      /is "2026-02-30T00:00:00Z", not a real date$/,
    );
    // Move the shard's watermark past the first window: an event for it is now late...
    await put(bid(30_000));
    await put(bid(8, t + 8));
    // ...and a late event with a deep field is a dead letter, not a late entry the side output cannot write.
    await poison(
      'a late event with a field 10,000 levels deep',
      `{"type":"bid","auction":"p1","price":9,"x":${deepArray(10_000)},"dateTime":${t + 9}}`,
      TOO_DEEP,
    );
    await api.drained();

    const dead = await api.get('/dead-letters?limit=1000');
    expect(dead.status).toBe(200);
    for (const p of poisons) {
      const entries = dead.body.deadLetters.filter(
        (e: { sequenceNumber: string; index: number }) => e.sequenceNumber === p.seq && e.index === p.index,
      );
      expect(entries, p.name).toEqual([expect.objectContaining({ reason: expect.stringMatching(p.reason) })]);
    }

    for (const shard of pipeline.poller.stats()) {
      expect(shard, shard.shardId).toMatchObject({ failures: 0, retries: 0 });
    }
    expect(pipeline.onFailure.records).toEqual([]);

    // Good: prices 1, 2, 3, 4 and 7 in the first window (8 came late), 10,001 in the second, 30,000 in the fourth.
    const results = await api.get(`/views/bids_per_auction/results?auction=p1&from=${t}&to=${t + 40_000}`);
    expect(results.body.results.map((r: { measures: { count: number; sum_price: number } }) => r.measures)).toEqual([
      expect.objectContaining({ count: 5, sum_price: 17 }),
      expect.objectContaining({ count: 1, sum_price: 10_001 }),
      expect.objectContaining({ count: 1, sum_price: 30_000 }),
    ]);
    const late = await api.get('/late?view=bids_per_auction');
    expect(late.body.late).toContainEqual(expect.objectContaining({ event: JSON.parse(bid(8, t + 8)) }));
    const status = await api.get('/status');
    expect(status.body.events).toMatchObject({ processed: 8, late: 1, deadLettered: poisons.length });
  });
});
