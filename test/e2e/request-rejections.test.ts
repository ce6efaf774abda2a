/** POST /events requests refused as a whole are counted in /status, apart from the events refused one by one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline, TestClock } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;
const clock = new TestClock();

beforeAll(async () => {
  pipeline = await startPipeline({ shards: 1 });
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

describe('GET /status requestsRejected', () => {
  it('counts requests refused before any event was read (400, 413, 415), and not their events', async () => {
    const t = clock.windows();
    const statuses = [
      (await api.post('[')).status,
      (await api.post(Array.from({ length: 501 }, () => ({ dateTime: t })))).status,
      (await api.post(' '.repeat(6_000_000))).status,
      (await api.post('hello', { 'content-type': 'text/plain' })).status,
      (await api.post([{ type: 'bid', dateTime: t }], { 'Idempotency-Key': 'has space' })).status,
      // Refused event by event: counted as rejected events, not as a rejected request.
      (await api.post([{ type: 'bid' }])).status,
      (await api.post([{ type: 'bid', dateTime: t }, { type: 'bid' }])).status,
    ];
    await api.drained();

    const status = await api.get('/status');

    expect(statuses).toEqual([400, 400, 413, 415, 400, 400, 207]);
    expect(status.body.requestsRejected).toBe(5);
    expect(status.body.events).toMatchObject({ accepted: 1, rejected: 2, processed: 1, inFlight: 0 });
  });
});
