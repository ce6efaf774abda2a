/**
 * Exactly-once effect with the real handler, dynalite and the Lambda-like poller: every first attempt at a
 * batch fails *after* its writes landed (as a Lambda timeout does), so each batch is retried and bisected.
 * The results must count every event once.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisHandler } from '../../local/event-source/kinesis-event-source.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline, TestClock } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;
const attempts = new Map<string, number>();

beforeAll(async () => {
  let real: KinesisHandler | undefined;
  const flaky: KinesisHandler = async (event, context) => {
    // Imported on first use: the handler reads the environment the pipeline sets up.
    real ??= (await import('../../lambdas/aggregate/handler.ts')).handler as KinesisHandler;
    await real(event, context, () => undefined);
    const key = (event as KinesisStreamEvent).Records.map((r) => r.kinesis.sequenceNumber).join(',');
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (n === 1) throw new Error('Task timed out after 60.00 seconds (after writing)');
    return undefined;
  };
  pipeline = await startPipeline({ handlers: { aggregate: flaky }, eventSource: { batchSize: 4 } });
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

describe('exactly-once effect', () => {
  it('counts each event once although every batch is applied, fails, and is retried and bisected', async () => {
    const t = new TestClock().windows();
    const batchesBefore = new Set(attempts.keys());
    const givenUpBefore = pipeline.onFailure.records.length;
    let expectedSum = 0;
    const counted = await api.countsOf(async () => {
      for (let request = 0; request < 12; request++) {
        const events = Array.from({ length: 5 }, (_, i) => {
          expectedSum += request * 10 + i;
          return { type: 'bid', auction: 9001, price: request * 10 + i, dateTime: t + request * 100 + i };
        });
        expect((await api.post(events)).status).toBe(202);
      }
    });
    const res = await api.get('/views/bids_per_auction/results?auction=9001');
    expect(res.body.results[0].measures).toMatchObject({ count: 60, sum_price: expectedSum });
    expect(counted.events).toMatchObject({ accepted: 60, processed: 60, deadLettered: 0, inFlight: 0 });
    // Retries happened: more invocations than distinct batches.
    expect([...attempts].some(([batch, n]) => !batchesBefore.has(batch) && n >= 2)).toBe(true);
    expect(pipeline.onFailure.records.length - givenUpBefore).toBe(0);
  });
});
