/** The DynamoDB adapter against dynalite: conditional writes, key ranges, side records, idempotency keys. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.ts';
import { TABLE_SCHEMA } from '../../lambdas/adapters/table-schema.ts';
import { ConcurrentWriteError } from '../../lambdas/core/store.ts';
import { localDynamoClient } from '../../local/aws-clients.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { ensureTable } from '../../local/resources.ts';
import { failedBatch as failed } from '../support/store-fixtures.ts';

let emulators: Emulators;
let store: DynamoStateStore;
const client = () => localDynamoClient(emulators.dynamoEndpoint);

beforeAll(async () => {
  emulators = await startEmulators();
  const dynamo = client();
  await ensureTable(dynamo, 'eddy-test');
  store = new DynamoStateStore(dynamo, 'eddy-test');
});
afterAll(async () => {
  await emulators?.stop();
});

describe('DynamoStateStore', () => {
  it('marks delta items and compacted windows with the table’s TTL attribute, so retention deletes them', async () => {
    const data = new Uint8Array([1, 2, 3]);
    await store.putDeltas(
      'shard-1',
      '0001',
      [{ viewId: 'v@1', paneStart: 10_000, bucket: 0, part: 0, data }],
      1_900_000_000,
    );
    const w = {
      viewId: 'v@1',
      view: 'v',
      groupBy: [],
      windowStart: 0,
      round: 0,
      windowEnd: 10_000,
      chunks: 1,
      results: 0,
      publish: true,
      emittedAt: 1,
    };
    await store.putCompacted(w, [{ lo: 0, hi: 2 ** 32, results: 0, data }], 1_900_000_001);
    const dynamo = client();
    const { Items } = await dynamo.send(new ScanCommand({ TableName: 'eddy-test' }));
    const expiry = Object.fromEntries(
      (Items ?? [])
        .filter((i) => /^(log|win|wins)\|/.test(i.pk!.S!))
        .map((i) => [i.pk!.S!.split('|')[0], i[TABLE_SCHEMA.ttlAttribute]?.N]),
    );
    expect(expiry).toEqual({ log: '1900000000', win: '1900000001', wins: '1900000001' });
  });

  it('writes the shard item first only if absent, then only from its stored sequence number', async () => {
    const state = {
      shardId: 'shard-9',
      seq: '0005',
      attemptedThrough: '0007',
      maxEventTime: 1,
      watermarkFloor: null,
      lastActivityMs: 2,
      batches: 1,
      counters: { processed: 3, late: 1, lateByView: { v: 1 }, deadLettered: 0, duplicates: 0 },
      intent: null,
    };
    await store.putShardState(state, null, false);
    await expect(store.putShardState(state, null, false)).rejects.toBeInstanceOf(ConcurrentWriteError);
    await expect(store.putShardState({ ...state, seq: '0006' }, '0004', true)).rejects.toBeInstanceOf(
      ConcurrentWriteError,
    );
    await store.putShardState({ ...state, seq: '0006' }, '0005', true);
    expect((await store.getShardStates()).find((s) => s.shardId === 'shard-9')).toEqual({ ...state, seq: '0006' });
  });

  it('lists side records newest first, page by page', async () => {
    for (let i = 0; i < 3; i++) {
      await store.putSideRecords('late', 'shard-1', [
        { seq: `000${i}`, arrivalMs: 1_000 + i, entries: [{ index: i, reason: 'r', event: { i } }] },
      ]);
    }
    const first = await store.listSideRecords('late', 2, null);
    expect(first.records.map((r) => r.seq)).toEqual(['0002', '0001']);
    const second = await store.listSideRecords('late', 2, first.nextCursor);
    expect(second.records.map((r) => r.seq)).toEqual(['0000']);
  });

  it('hands an idempotency key to one request, then replays its stored response', async () => {
    expect(await store.claimIdempotencyKey('k1', 1_000)).toEqual({ state: 'claimed' });
    expect(await store.claimIdempotencyKey('k1', 1_001)).toEqual({ state: 'in-progress' });
    await store.completeIdempotencyKey('k1', { statusCode: 202, body: '{"accepted":1,"rejected":[]}' });
    expect(await store.claimIdempotencyKey('k1', 1_002)).toEqual({
      state: 'done',
      response: { statusCode: 202, body: '{"accepted":1,"rejected":[]}' },
    });
  });

  it('lets a request take over a claim whose holder died', async () => {
    await store.claimIdempotencyKey('k2', 1_000);
    expect(await store.claimIdempotencyKey('k2', 1_000 + 31_000)).toEqual({ state: 'claimed' });
  });

  it('keeps the emitted-through watermark at the highest value it was raised to', async () => {
    expect(await store.getEmittedThrough()).toBeNull();
    await store.raiseEmittedThrough(5_000);
    await store.raiseEmittedThrough(3_000);
    expect(await store.getEmittedThrough()).toBe(5_000);
  });

  it('sums ingest counters over their spread items, leaving the ones a call does not name', async () => {
    for (let i = 0; i < 20; i++) await store.addIngestCounts({ accepted: 2, rejected: 1 });
    for (let i = 0; i < 3; i++) await store.addIngestCounts({ requestsRejected: 1 });
    expect(await store.getIngestCounts()).toEqual({ accepted: 40, rejected: 20, requestsRejected: 3 });
  });
});

describe('DynamoStateStore given-up batches', () => {
  it('records a batch once: a second delivery of its on-failure record changes nothing', async () => {
    expect(await store.putFailedBatch(failed(1_000))).toBe(true);
    expect(await store.putFailedBatch(failed(1_000, { events: null }))).toBe(false);

    const { batches } = await store.listFailedBatches(10, null);
    expect(batches.filter((b) => b.failedAtMs === 1_000).map((b) => b.events)).toEqual([7]);
  });

  it('lists batches the most recently given up first, page by page', async () => {
    for (const at of [2_000, 4_000, 3_000]) await store.putFailedBatch(failed(at, { events: null }));

    const first = await store.listFailedBatches(2, null);
    const rest = await store.listFailedBatches(10, first.nextCursor);

    expect(first.batches.map((b) => b.failedAtMs)).toEqual([4_000, 3_000]);
    expect(rest.batches.map((b) => b.failedAtMs)).toEqual([2_000, 1_000]);
    expect(rest.nextCursor).toBeNull();
    expect(first.batches[0]).toMatchObject({ ...failed(4_000, { events: null }), key: expect.any(String) });
  });

  it('marks a batch redriven once, keeping the first redrive', async () => {
    await store.putFailedBatch(failed(5_000));
    const key = (await store.listFailedBatches(1, null)).batches[0]!.key;
    const redrive = {
      atMs: 6_000,
      shardId: 'redrive:shardId-000000000000:49685000',
      processed: 7,
      late: 1,
      deadLettered: 0,
    };

    await store.markFailedBatchRedriven(key, redrive);
    await store.markFailedBatchRedriven(key, { ...redrive, atMs: 7_000, processed: 0 });

    expect((await store.listFailedBatches(1, null)).batches[0]!.redrive).toEqual(redrive);
  });
});

describe('DynamoStateStore side records at the item size limit', () => {
  it('splits a record with many late events over several items, each readable JSON', async () => {
    const entries = Array.from({ length: 2_000 }, (_, i) => ({
      index: i,
      view: 'v',
      reason: 'late '.repeat(30),
      event: { i, pad: 'é'.repeat(100) },
    }));
    await store.putSideRecords('dead', 'shard-big', [{ seq: '0999', arrivalMs: 9_000_000, entries }]);
    const got = [];
    let cursor: string | null = null;
    do {
      const page = await store.listSideRecords('dead', 10, cursor);
      got.push(...page.records.flatMap((r) => r.entries));
      cursor = page.nextCursor;
    } while (cursor);
    expect(got.map((e) => e.index).sort((a, b) => a - b)).toEqual(entries.map((e) => e.index));
  });
});
