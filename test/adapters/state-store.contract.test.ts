/**
 * Contract tests of the StateStore port: the same cases against the in-memory fake the property tests rely on
 * and against the DynamoDB adapter on dynalite, so the fake cannot drift from the real store. Where they
 * disagree, the DynamoDB adapter is the truth and the fake is fixed.
 *
 * Every method of the port is covered. What the fake leaves out on purpose, being storage detail no caller
 * can see below DynamoDB's 400 KB item limit: side records and open-window entries are not split over several
 * items, and side entries too large or too deeply nested are kept whole rather than replaced by a placeholder
 * (test/adapters/dynamo-state-store.test.ts covers the split against dynalite).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../lambdas/adapters/dynamo-state-store.ts';
import type { SideRecord } from '../../lambdas/core/batch-aggregator.ts';
import { paneKey } from '../../lambdas/core/pane.ts';
import {
  ConcurrentWriteError,
  type EmittedResult,
  type OpenWindows,
  type PaneRef,
  type ShardState,
  type StateStore,
  type StoredPane,
} from '../../lambdas/core/store.ts';
import { localDynamoClient } from '../../local/aws-clients.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { ensureTable } from '../../local/resources.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';
import { failedBatch, storedPane as pane } from '../support/store-fixtures.ts';

let emulators: Emulators | undefined;
let dynamo: DynamoDBClient | undefined;
let tables = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  dynamo = localDynamoClient(emulators.dynamoEndpoint);
});
afterAll(async () => {
  dynamo?.destroy();
  await emulators?.stop();
});

/** A fresh, empty store per test: several item kinds (shards, counters, side records) are table-wide lists. */
const stores: ReadonlyArray<readonly [string, () => Promise<StateStore>]> = [
  ['memory', async () => new MemoryStateStore()],
  [
    'dynamodb on dynalite',
    async () => {
      // dynalite runs with --createTableMs 0: a table per test costs a few milliseconds.
      const table = `contract-${++tables}`;
      await ensureTable(dynamo!, table);
      return new DynamoStateStore(dynamo!, table);
    },
  ],
];

const refOf = (p: StoredPane): PaneRef => ({ viewId: p.viewId, groupKey: p.groupKey, paneStart: p.paneStart });

const shardState = (over: Partial<ShardState> = {}): ShardState => ({
  shardId: 'shard-1',
  seq: '0005',
  attemptedThrough: '0007',
  maxEventTime: 1_000,
  watermarkFloor: null,
  lastActivityMs: 2_000,
  batches: 1,
  counters: { processed: 3, late: 1, lateByView: { 'v@1': 1 }, deadLettered: 0, duplicates: 0 },
  ...over,
});

const openWindow = (readyAt: number, windowStart: number, groupKeys = ['a']): Omit<OpenWindows, 'key'> => ({
  readyAt,
  windowStart,
  groups: groupKeys.map((k) => ({ groupKey: `["${k}"]`, group: [k] })),
});

const emitted = (windowStart: number, windowEnd: number, over: Partial<EmittedResult> = {}): EmittedResult => ({
  view: 'v',
  group: { k: 'a' },
  groupKey: '["a"]',
  windowStart,
  windowEnd,
  measures: { count: 1 },
  emittedAt: 50_000,
  ...over,
});

const sideRecord = (seq: string, arrivalMs: number): SideRecord => ({
  seq,
  arrivalMs,
  entries: [{ index: 0, view: 'v', reason: 'late', event: { seq } }],
});

const redrive = {
  atMs: 6_000,
  shardId: 'redrive:shardId-000000000000:49685000',
  processed: 7,
  late: 1,
  deadLettered: 0,
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe.each(stores)('StateStore contract: %s', (_name, open) => {
  let store: StateStore;
  beforeEach(async () => {
    store = await open();
  });

  describe('panes', () => {
    it('creates a pane when expectedSeq is null and none is stored', async () => {
      await store.putPanes([{ pane: pane(), expectedSeq: null }]);

      expect([...(await store.getPanes('shard-1', [refOf(pane())])).values()]).toEqual([pane()]);
    });

    it('refuses to create a pane that is already stored', async () => {
      await store.putPanes([{ pane: pane(), expectedSeq: null }]);

      await expect(store.putPanes([{ pane: pane({ seq: '0002' }), expectedSeq: null }])).rejects.toBeInstanceOf(
        ConcurrentWriteError,
      );
    });

    it('refuses a write from a stale sequence number, leaving the stored pane as it was', async () => {
      await store.putPanes([{ pane: pane({ seq: '0003' }), expectedSeq: null }]);

      await expect(
        store.putPanes([{ pane: pane({ seq: '0004', count: 9 }), expectedSeq: '0002' }]),
      ).rejects.toBeInstanceOf(ConcurrentWriteError);
      expect([...(await store.getPanes('shard-1', [refOf(pane())])).values()]).toEqual([pane({ seq: '0003' })]);
    });

    it('refuses to update a pane that is not stored', async () => {
      await expect(store.putPanes([{ pane: pane({ seq: '0002' }), expectedSeq: '0001' }])).rejects.toBeInstanceOf(
        ConcurrentWriteError,
      );
    });

    it('updates a pane from the sequence number it read', async () => {
      await store.putPanes([{ pane: pane(), expectedSeq: null }]);

      await store.putPanes([{ pane: pane({ seq: '0002', count: 2, maxTime: 10_500 }), expectedSeq: '0001' }]);

      expect([...(await store.getPanes('shard-1', [refOf(pane())])).values()]).toEqual([
        pane({ seq: '0002', count: 2, maxTime: 10_500 }),
      ]);
    });

    it('gives back partials as JSON carries them (-0 as 0, NaN as null)', async () => {
      await store.putPanes([{ pane: pane({ partials: { sum: -0, mean: Number.NaN } }), expectedSeq: null }]);

      const got = await store.getPanes('shard-1', [refOf(pane())]);
      expect(got.get(paneKey(pane()))?.partials).toEqual({ sum: 0, mean: null });
    });

    it('reads one shard’s panes by ref, keyed by paneKey, leaving out refs with no pane', async () => {
      const mine = pane({ paneStart: 20_000 });
      await store.putPanes([
        { pane: mine, expectedSeq: null },
        { pane: pane({ paneStart: 30_000, shardId: 'shard-2' }), expectedSeq: null },
      ]);

      const got = await store.getPanes('shard-1', [refOf(mine), refOf(pane({ paneStart: 30_000 }))]);

      expect([...got]).toEqual([[paneKey(mine), mine]]);
    });

    it('queries a group’s panes with paneStart in [from, to)', async () => {
      await store.putPanes(
        [10_000, 20_000, 30_000, 40_000].map((paneStart) => ({ pane: pane({ paneStart }), expectedSeq: null })),
      );

      const got = await collect(store.queryPanes('v@1', '["a"]', 20_000, 40_000));

      expect(got.map((p) => p.paneStart)).toEqual([20_000, 30_000]);
    });

    it('queries every shard’s panes ascending, a pane’s shards in code-unit order', async () => {
      await store.putPanes(
        [
          pane({ paneStart: 30_000, shardId: 'shard-a' }),
          pane({ paneStart: 20_000, shardId: 'shard-a' }),
          pane({ paneStart: 20_000, shardId: 'shard-B' }),
        ].map((p) => ({ pane: p, expectedSeq: null })),
      );

      const got = await collect(store.queryPanes('v@1', '["a"]', 0, 100_000));

      expect(got.map((p) => [p.paneStart, p.shardId])).toEqual([
        [20_000, 'shard-B'],
        [20_000, 'shard-a'],
        [30_000, 'shard-a'],
      ]);
    });

    it('queries only the panes of the named view and group', async () => {
      await store.putPanes(
        [pane(), pane({ viewId: 'v@2' }), pane({ groupKey: '["b"]', group: ['b'] })].map((p) => ({
          pane: p,
          expectedSeq: null,
        })),
      );

      const got = await collect(store.queryPanes('v@1', '["a"]', 0, 100_000));

      expect(got).toEqual([pane()]);
    });
  });

  describe('shard state', () => {
    it('creates a shard’s state when none is stored and expectExisting is false', async () => {
      await store.putShardState(shardState(), null, false);

      expect(await store.getShardStates()).toEqual([shardState()]);
    });

    it('refuses to create a shard’s state that is already stored', async () => {
      await store.putShardState(shardState(), null, false);

      await expect(store.putShardState(shardState(), null, false)).rejects.toBeInstanceOf(ConcurrentWriteError);
    });

    it('writes over a stored state without a sequence number when expectedSeq is null', async () => {
      await store.putShardState(shardState({ seq: null }), null, false);

      await store.putShardState(shardState({ seq: '0009' }), null, true);

      expect(await store.getShardStates()).toEqual([shardState({ seq: '0009' })]);
    });

    it('refuses an expected existing state without a sequence number when none is stored', async () => {
      await expect(store.putShardState(shardState(), null, true)).rejects.toBeInstanceOf(ConcurrentWriteError);
    });

    it('refuses an expected state without a sequence number when the stored one has one', async () => {
      await store.putShardState(shardState({ seq: '0005' }), null, false);

      await expect(store.putShardState(shardState({ seq: '0009' }), null, true)).rejects.toBeInstanceOf(
        ConcurrentWriteError,
      );
    });

    it('writes from the stored sequence number', async () => {
      await store.putShardState(shardState({ seq: '0005' }), null, false);

      await store.putShardState(shardState({ seq: '0009', batches: 2 }), '0005', true);

      expect(await store.getShardStates()).toEqual([shardState({ seq: '0009', batches: 2 })]);
    });

    it('refuses a write from a stale sequence number', async () => {
      await store.putShardState(shardState({ seq: '0005' }), null, false);

      await expect(store.putShardState(shardState({ seq: '0009' }), '0004', true)).rejects.toBeInstanceOf(
        ConcurrentWriteError,
      );
    });

    it('lists every shard’s state as written, null fields included', async () => {
      const fresh = shardState({
        shardId: 'shard-2',
        seq: null,
        attemptedThrough: null,
        maxEventTime: null,
        watermarkFloor: 500,
      });
      await store.putShardState(shardState(), null, false);
      await store.putShardState(fresh, null, false);

      const got = await store.getShardStates();

      expect(got.sort((a, b) => a.shardId.localeCompare(b.shardId))).toEqual([shardState(), fresh]);
    });
  });

  describe('emitted-through watermark', () => {
    it('is null before it is first raised', async () => {
      expect(await store.getEmittedThrough()).toBeNull();
    });

    it('only rises', async () => {
      await store.raiseEmittedThrough(5_000);
      await store.raiseEmittedThrough(3_000);

      expect(await store.getEmittedThrough()).toBe(5_000);
    });
  });

  describe('open windows', () => {
    it('lists the entries ready by readyBy, readyBy included', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0), openWindow(2_000, 1_000), openWindow(2_001, 0)]);

      const got = await store.listOpenWindows('v@1', 2_000, 10);

      expect(got.map((e) => e.readyAt)).toEqual([1_000, 2_000]);
    });

    it('lists the soonest first: by readyAt, then by window start', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(2_000, 500), openWindow(2_000, 100), openWindow(1_000, 900)]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got.map((e) => [e.readyAt, e.windowStart])).toEqual([
        [1_000, 900],
        [2_000, 100],
        [2_000, 500],
      ]);
    });

    it('lists the entries of one window in the code-unit order of their tags', async () => {
      await store.putOpenWindows('v@1', 'a|1', [openWindow(1_000, 0, ['x'])]);
      await store.putOpenWindows('v@1', 'a1|1', [openWindow(1_000, 0, ['y'])]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got.map((e) => e.groups[0]?.groupKey)).toEqual(['["y"]', '["x"]']);
    });

    it('lists at most limit entries, the soonest', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(3_000, 0), openWindow(1_000, 0), openWindow(2_000, 0)]);

      const got = await store.listOpenWindows('v@1', 10_000, 2);

      expect(got.map((e) => e.readyAt)).toEqual([1_000, 2_000]);
    });

    it('gives back each entry’s window, readiness and groups, with a key', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 400, ['a', 'b'])]);

      const [got] = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got).toEqual({ ...openWindow(1_000, 400, ['a', 'b']), key: expect.any(String) });
    });

    it('rewrites the entry of the same tag and window (a retried batch)', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0, ['a'])]);

      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0, ['b'])]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);
      expect(got.map((e) => e.groups.map((g) => g.groupKey))).toEqual([['["b"]']]);
    });

    it('stores nothing for an entry without groups', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0, [])]);

      expect(await store.listOpenWindows('v@1', 10_000, 10)).toEqual([]);
    });

    it('keeps each view’s entries apart', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0)]);
      await store.putOpenWindows('v@2', 't', [openWindow(2_000, 0)]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got.map((e) => e.readyAt)).toEqual([1_000]);
    });

    it('deletes exactly the entry named by its key', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0), openWindow(2_000, 0)]);
      const [first] = await store.listOpenWindows('v@1', 10_000, 1);

      await store.deleteOpenWindows('v@1', first!.key);

      const got = await store.listOpenWindows('v@1', 10_000, 10);
      expect(got.map((e) => e.readyAt)).toEqual([2_000]);
    });
  });

  describe('emitted results', () => {
    it('publishes a window once: a second put returns false and the first result stays', async () => {
      expect(await store.putEmitted('v@1', emitted(0, 1_000))).toBe(true);

      expect(await store.putEmitted('v@1', emitted(0, 1_000, { measures: { count: 2 } }))).toBe(false);

      const page = await store.listEmitted('v@1', 10_000, 10, null);
      expect(page.results).toEqual([emitted(0, 1_000)]);
    });

    it('publishes windows of the same start but different ends as two results', async () => {
      await store.putEmitted('v@1', emitted(0, 1_000));

      expect(await store.putEmitted('v@1', emitted(0, 1_500))).toBe(true);
    });

    it('lists the results with windowEnd before untilEnd, in windowEnd order', async () => {
      for (const end of [3_000, 1_000, 2_000, 4_000]) await store.putEmitted('v@1', emitted(end - 1_000, end));

      const page = await store.listEmitted('v@1', 4_000, 10, null);

      expect(page.results.map((r) => r.windowEnd)).toEqual([1_000, 2_000, 3_000]);
    });

    it('lists page by page after the cursor', async () => {
      for (const end of [1_000, 2_000, 3_000]) await store.putEmitted('v@1', emitted(end - 1_000, end));

      const first = await store.listEmitted('v@1', 10_000, 2, null);
      const rest = await store.listEmitted('v@1', 10_000, 2, first.nextCursor);

      expect([first, rest].map((p) => p.results.map((r) => r.windowEnd))).toEqual([[1_000, 2_000], [3_000]]);
    });

    it('keeps the cursor when nothing past it is complete yet', async () => {
      await store.putEmitted('v@1', emitted(0, 1_000));
      const first = await store.listEmitted('v@1', 10_000, 10, null);

      const again = await store.listEmitted('v@1', 10_000, 10, first.nextCursor);

      expect(again).toEqual({ results: [], nextCursor: first.nextCursor });
    });

    it('keeps each view’s results apart', async () => {
      await store.putEmitted('v@1', emitted(0, 1_000));
      await store.putEmitted('v@2', emitted(0, 2_000));

      const page = await store.listEmitted('v@1', 10_000, 10, null);

      expect(page.results.map((r) => r.windowEnd)).toEqual([1_000]);
    });
  });

  describe('record origins', () => {
    it('claims an origin nobody owns', async () => {
      expect(await store.claimRecordOrigins([{ origin: '0|key-1', seq: '0001' }])).toEqual(new Set());
    });

    it('claims again for the same record as a no-op', async () => {
      await store.claimRecordOrigins([{ origin: '0|key-1', seq: '0001' }]);

      expect(await store.claimRecordOrigins([{ origin: '0|key-1', seq: '0001' }])).toEqual(new Set());
    });

    it('reports an origin another record owns as taken, claiming the others', async () => {
      await store.claimRecordOrigins([{ origin: '0|key-1', seq: '0001' }]);

      const taken = await store.claimRecordOrigins([
        { origin: '0|key-1', seq: '0002' },
        { origin: '1|key-1', seq: '0002' },
      ]);

      expect(taken).toEqual(new Set(['0|key-1']));
    });
  });

  describe('side records', () => {
    it('lists side records newest first, page by page', async () => {
      await store.putSideRecords('late', 'shard-1', [sideRecord('0001', 1_000), sideRecord('0003', 3_000)]);
      await store.putSideRecords('late', 'shard-2', [sideRecord('0002', 2_000)]);

      const first = await store.listSideRecords('late', 2, null);
      const rest = await store.listSideRecords('late', 2, first.nextCursor);

      expect([first, rest].map((p) => p.records.map((r) => r.seq))).toEqual([['0003', '0002'], ['0001']]);
      expect(rest.nextCursor).toBeNull();
    });

    it('gives a cursor after a full page even when nothing follows', async () => {
      await store.putSideRecords('late', 'shard-1', [sideRecord('0001', 1_000)]);

      const page = await store.listSideRecords('late', 1, null);

      expect(page.nextCursor).not.toBeNull();
      expect(await store.listSideRecords('late', 1, page.nextCursor)).toEqual({ records: [], nextCursor: null });
    });

    it('gives back each record with its shard and entries', async () => {
      await store.putSideRecords('dead', 'shard-1', [sideRecord('0001', 1_000)]);

      const page = await store.listSideRecords('dead', 10, null);

      expect(page.records).toEqual([{ ...sideRecord('0001', 1_000), shardId: 'shard-1' }]);
    });

    it('keeps late and dead records apart', async () => {
      await store.putSideRecords('late', 'shard-1', [sideRecord('0001', 1_000)]);

      expect((await store.listSideRecords('dead', 10, null)).records).toEqual([]);
    });

    it('rewrites a retried record in place', async () => {
      await store.putSideRecords('late', 'shard-1', [sideRecord('0001', 1_000)]);

      await store.putSideRecords('late', 'shard-1', [sideRecord('0001', 1_000)]);

      expect((await store.listSideRecords('late', 10, null)).records).toHaveLength(1);
    });
  });

  describe('ingest counters', () => {
    it('are zero before anything is counted', async () => {
      expect(await store.getIngestCounts()).toEqual({ accepted: 0, rejected: 0, requestsRejected: 0 });
    });

    it('add up, leaving unchanged a counter a call leaves out', async () => {
      await store.addIngestCounts({ accepted: 2, rejected: 1 });
      await store.addIngestCounts({ accepted: 3, requestsRejected: undefined });

      expect(await store.getIngestCounts()).toEqual({ accepted: 5, rejected: 1, requestsRejected: 0 });
    });
  });

  describe('idempotency keys', () => {
    it('hands a key to the first request and reports it in progress to the next', async () => {
      expect(await store.claimIdempotencyKey('k', 1_000)).toEqual({ state: 'claimed' });

      expect(await store.claimIdempotencyKey('k', 12_999)).toEqual({ state: 'in-progress' });
    });

    it('replays the stored response once the request completed', async () => {
      await store.claimIdempotencyKey('k', 1_000);

      await store.completeIdempotencyKey('k', { statusCode: 202, body: '{"accepted":1}' });

      expect(await store.claimIdempotencyKey('k', 100_000)).toEqual({
        state: 'done',
        response: { statusCode: 202, body: '{"accepted":1}' },
      });
    });

    it('lets a request take over a claim whose holder died (pending for over 12 s)', async () => {
      await store.claimIdempotencyKey('k', 1_000);

      expect(await store.claimIdempotencyKey('k', 13_001)).toEqual({ state: 'claimed' });
    });

    it('lets the next request claim a released key', async () => {
      await store.claimIdempotencyKey('k', 1_000);

      await store.releaseIdempotencyKey('k');

      expect(await store.claimIdempotencyKey('k', 1_001)).toEqual({ state: 'claimed' });
    });
  });

  describe('given-up batches', () => {
    it('records a batch once: a second delivery returns false and the first stays', async () => {
      expect(await store.putFailedBatch(failedBatch(1_000))).toBe(true);

      expect(await store.putFailedBatch(failedBatch(1_000, { events: null }))).toBe(false);

      expect((await store.listFailedBatches(10, null)).batches).toEqual([
        { ...failedBatch(1_000), key: expect.any(String) },
      ]);
    });

    it('records a batch as not redriven, whatever redrive it is given', async () => {
      await store.putFailedBatch(failedBatch(1_000, { redrive }));

      expect((await store.listFailedBatches(10, null)).batches.map((b) => b.redrive)).toEqual([null]);
    });

    it('lists the most recently given up first, page by page', async () => {
      for (const at of [2_000, 4_000, 3_000]) await store.putFailedBatch(failedBatch(at));

      const first = await store.listFailedBatches(2, null);
      const rest = await store.listFailedBatches(2, first.nextCursor);

      expect([first, rest].map((p) => p.batches.map((b) => b.failedAtMs))).toEqual([[4_000, 3_000], [2_000]]);
      expect(rest.nextCursor).toBeNull();
    });

    it('gives a cursor after a full page even when nothing follows', async () => {
      await store.putFailedBatch(failedBatch(1_000));

      const page = await store.listFailedBatches(1, null);

      expect(page.nextCursor).not.toBeNull();
      expect(await store.listFailedBatches(1, page.nextCursor)).toEqual({ batches: [], nextCursor: null });
    });

    it('marks a batch redriven once, keeping the first redrive', async () => {
      await store.putFailedBatch(failedBatch(5_000));
      const [batch] = (await store.listFailedBatches(1, null)).batches;

      await store.markFailedBatchRedriven(batch!.key, redrive);
      await store.markFailedBatchRedriven(batch!.key, { ...redrive, atMs: 7_000, processed: 0 });

      expect((await store.listFailedBatches(1, null)).batches[0]?.redrive).toEqual(redrive);
    });

    it('ignores marking a batch that was never recorded', async () => {
      await store.markFailedBatchRedriven('0000000005000|aggregate|shardId-000000000000|49685000', redrive);

      expect((await store.listFailedBatches(10, null)).batches).toEqual([]);
    });
  });
});
