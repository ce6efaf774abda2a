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
import { groupKeyOf } from '../../lambdas/core/group.ts';
import { type DeltaItem, HASH_END, packStates, type ResultChunk, unpackStates } from '../../lambdas/core/pane-log.ts';
import {
  type CompactedWindow,
  ConcurrentWriteError,
  type OpenWindows,
  type ShardState,
  type StateStore,
  type StoredAnomaly,
} from '../../lambdas/core/store.ts';
import { END_OF_TIME } from '../../lambdas/core/windows/window-assigner.ts';
import { localDynamoClient } from '../../local/aws-clients.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { ensureTable } from '../../local/resources.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';
import { failedBatch } from '../support/store-fixtures.ts';

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

const shardState = (over: Partial<ShardState> = {}): ShardState => ({
  shardId: 'shard-1',
  seq: '0005',
  attemptedThrough: '0007',
  maxEventTime: 1_000,
  watermarkFloor: null,
  lastActivityMs: 2_000,
  batches: 1,
  counters: { processed: 3, late: 1, lateByView: { 'v@1': 1 }, deadLettered: 0, duplicates: 0 },
  intent: null,
  ...over,
});

const openWindow = (
  readyAt: number,
  windowStart: number,
  over: Partial<Omit<OpenWindows, 'key'>> = {},
): Omit<OpenWindows, 'key'> => ({ readyAt, windowStart, round: undefined, prevCut: undefined, ...over });

const EXPIRES = 2_000_000_000;

const delta = (paneStart: number, over: Partial<Omit<DeltaItem, 'data'>> & { data?: string } = {}): DeltaItem => ({
  viewId: 'v@1',
  bucket: 1,
  part: 0,
  paneStart,
  ...over,
  data: new Uint8Array(Buffer.from(over.data ?? 'data')),
});

const compacted = (windowStart: number, windowEnd: number, over: Partial<CompactedWindow> = {}): CompactedWindow => ({
  viewId: 'v@1',
  view: 'v',
  groupBy: ['k'],
  windowStart,
  round: 0,
  windowEnd,
  chunks: 1,
  results: 1,
  publish: true,
  emittedAt: 50_000,
  ...over,
});

const chunk = (lo: number, hi: number, data: string): ResultChunk => ({
  lo,
  hi,
  results: 1,
  data: new Uint8Array(Buffer.from(data)),
});

/** A group's anomaly in the 1 s window starting at `windowStart`. */
const anomaly = (windowStart: number, group: string, over: Partial<StoredAnomaly> = {}): StoredAnomaly => ({
  view: 'v',
  groupBy: ['k'],
  groupKey: groupKeyOf([group]),
  windowStart,
  windowEnd: windowStart + 1_000,
  measure: 'count',
  value: 120,
  score: 9.5,
  expected: { low: 8, high: 40 },
  detectedAt: 70_000,
  ...over,
});

/** Every page of a listing, following nextCursor. */
async function anomalyPages(
  store: StateStore,
  range: { readonly from: number; readonly to: number; readonly groupKey?: string },
  limit: number,
): Promise<Array<Array<[number, string]>>> {
  const pages: Array<Array<[number, string]>> = [];
  let cursor: string | null = null;
  do {
    const page = await store.listAnomalies('v@1', range, limit, cursor);
    pages.push(page.anomalies.map((a) => [a.windowStart, a.groupKey]));
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 20);
  return pages;
}

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

  describe('pane log', () => {
    it('queries one bucket’s delta items with paneStart in [from, to), ascending, every shard and attempt', async () => {
      await store.putDeltas('shard-b', '0009', [delta(30_000), delta(10_000)], EXPIRES);
      await store.putDeltas('shard-a', '0001', [delta(20_000), delta(40_000), delta(20_000, { bucket: 2 })], EXPIRES);

      const got = await collect(store.queryDeltas('v@1', 1, 20_000, 40_000));

      expect(got.map((d) => [d.paneStart, d.part])).toEqual([
        [20_000, 0],
        [30_000, 0],
      ]);
      expect(Buffer.from(got[0]!.data).toString()).toBe('data');
    });

    it('orders a pane’s items by shard, first record and part (code units)', async () => {
      await store.putDeltas('shard-a', '0002', [delta(10_000, { part: 1, data: 'a2/1' })], EXPIRES);
      await store.putDeltas('shard-a', '0002', [delta(10_000, { data: 'a2/0' })], EXPIRES);
      await store.putDeltas('shard-B', '0001', [delta(10_000, { data: 'B1/0' })], EXPIRES);

      const got = await collect(store.queryDeltas('v@1', 1, 0, 100_000));

      expect(got.map((d) => Buffer.from(d.data).toString())).toEqual(['B1/0', 'a2/0', 'a2/1']);
    });

    it('overwrites the item of the same shard, first record, pane, bucket and part (a retried attempt)', async () => {
      await store.putDeltas('shard-a', '0001', [delta(10_000, { data: 'first' })], EXPIRES);

      await store.putDeltas('shard-a', '0001', [delta(10_000, { data: 'retry' })], EXPIRES);

      const got = await collect(store.queryDeltas('v@1', 1, 0, 100_000));
      expect(got.map((d) => Buffer.from(d.data).toString())).toEqual(['retry']);
    });

    it('deletes the parts an intent lists from fromPart on, and nothing else', async () => {
      await store.putDeltas(
        'shard-a',
        '0001',
        [0, 1, 2].map((part) => delta(10_000, { part })),
        EXPIRES,
      );
      await store.putDeltas('shard-a', '0005', [delta(10_000)], EXPIRES);

      await store.deleteDeltas('shard-a', '0001', [
        { viewId: 'v@1', paneStart: 10_000, bucket: 1, parts: 3, fromPart: 1 },
      ]);

      const got = await collect(store.queryDeltas('v@1', 1, 0, 100_000));
      expect(got.map((d) => d.part)).toEqual([0, 0]);
    });

    it('keeps each view’s and bucket’s items apart', async () => {
      await store.putDeltas('shard-a', '0001', [delta(10_000), delta(10_000, { viewId: 'v@2' })], EXPIRES);

      expect(await collect(store.queryDeltas('v@2', 1, 0, 100_000))).toHaveLength(1);
      expect(await collect(store.queryDeltas('v@1', 3, 0, 100_000))).toEqual([]);
    });
  });

  describe('compacted windows', () => {
    it('writes a window once: a second put returns false and leaves the first', async () => {
      expect(await store.putCompacted(compacted(0, 1_000), [chunk(0, HASH_END, 'first')], EXPIRES)).toBe(true);

      expect(await store.putCompacted(compacted(0, 1_000), [chunk(0, HASH_END, 'second')], EXPIRES)).toBe(false);

      const w = await store.getCompacted('v@1', 1_000, 0, 0);
      expect(w).toEqual(compacted(0, 1_000));
      expect((await store.getChunks(w!)).map((c) => Buffer.from(c.data).toString())).toEqual(['first']);
    });

    it('finds the chunk that holds a hash: the greatest lo at or below it', async () => {
      const chunks = [chunk(0, 100, 'a'), chunk(100, 5_000, 'b'), chunk(5_000, HASH_END, 'c')];
      await store.putCompacted(compacted(0, 1_000, { chunks: 3 }), chunks, EXPIRES);
      const w = (await store.getCompacted('v@1', 1_000, 0, 0))!;

      const found = await Promise.all([0, 99, 100, 4_999, 5_000, HASH_END - 1].map((h) => store.getChunk(w, h)));

      expect(found.map((c) => Buffer.from(c!.data).toString())).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
      expect((await store.getChunks(w)).map((c) => [c.lo, c.hi, c.results])).toEqual([
        [0, 100, 1],
        [100, 5_000, 1],
        [5_000, HASH_END, 1],
      ]);
    });

    it('finds no chunk for a hash whose chunk is missing (a compaction cut short)', async () => {
      const w = compacted(0, 1_000);
      await store.putCompacted(w, [chunk(0, 100, 'a')], EXPIRES);

      expect(await store.getChunk(w, 500)).toBeNull();
    });

    it('lists windows with windowEnd in [fromEnd, untilEnd), in windowEnd order, page by page', async () => {
      for (const end of [3_000, 1_000, 2_000, 4_000]) {
        await store.putCompacted(compacted(end - 1_000, end), [chunk(0, HASH_END, 'x')], EXPIRES);
      }

      const first = await store.listCompacted('v@1', 1_500, 4_000, 1, null);
      const rest = await store.listCompacted('v@1', 1_500, 4_000, 10, first.nextCursor);

      expect([first, rest].map((p) => p.windows.map((w) => w.windowEnd))).toEqual([[2_000], [3_000]]);
    });

    it('keeps the cursor when nothing past it is complete yet', async () => {
      await store.putCompacted(compacted(0, 1_000), [chunk(0, HASH_END, 'x')], EXPIRES);
      const first = await store.listCompacted('v@1', 0, 10_000, 10, null);

      expect(await store.listCompacted('v@1', 0, 10_000, 10, first.nextCursor)).toEqual({
        windows: [],
        nextCursor: first.nextCursor,
      });
    });

    it('keeps compacted-through per view, and only raises it', async () => {
      expect(await store.getCompactedThrough('v@1')).toBeNull();
      await store.raiseCompactedThrough('v@1', 5_000);
      await store.raiseCompactedThrough('v@1', 3_000);

      expect(await store.getCompactedThrough('v@1')).toBe(5_000);
      expect(await store.getCompactedThrough('v@2')).toBeNull();
    });

    it('finds the latest window that ends before a time, and none before the first', async () => {
      for (const end of [3_000, 1_000, 2_000]) {
        await store.putCompacted(compacted(end - 1_000, end), [chunk(0, HASH_END, 'x')], EXPIRES);
      }
      await store.putCompacted(compacted(0, 9_000, { viewId: 'v@2' }), [chunk(0, HASH_END, 'x')], EXPIRES);
      await store.raiseCompactedThrough('v@1', 8_000);

      const latest = await Promise.all([3_000, 3_001, 1_001, 1_000].map((t) => store.getLatestCompacted('v@1', t)));

      expect(latest.map((w) => w?.windowEnd ?? null)).toEqual([2_000, 3_000, 1_000, null]);
      expect(latest[0]).toEqual(compacted(1_000, 2_000));
      expect(await store.getLatestCompacted('v@1', END_OF_TIME)).toEqual(compacted(2_000, 3_000));
      expect(await store.getLatestCompacted('v@3', END_OF_TIME)).toBeNull();
    });

    it('keeps the detector states written with a window, for the next window to start from', async () => {
      const states = new Map<string, unknown>(
        ['a', 'b', 'c'].map((g, i) => [groupKeyOf([g]), { s: { n: 24 + i, level: 3.5 }, a: 0 }]),
      );
      const packed = packStates(states);
      const w = compacted(0, 1_000, { detector: { signature: 'v1|count|robust', chunks: packed.length } });
      await store.putCompacted(w, [chunk(0, HASH_END, 'results')], EXPIRES, packed);

      const latest = await store.getLatestCompacted('v@1', 2_000);
      const got = await store.getDetectorStates(latest!);

      expect(latest).toEqual(w);
      expect(new Map(got.flatMap((c) => unpackStates(c.data)))).toEqual(states);
      expect((await store.getChunks(w)).map((c) => Buffer.from(c.data).toString())).toEqual(['results']);
    });

    it('has no detector states for a window without a detector', async () => {
      await store.putCompacted(compacted(0, 1_000), [chunk(0, HASH_END, 'x')], EXPIRES);

      expect(await store.getDetectorStates(compacted(0, 1_000))).toEqual([]);
    });
  });

  describe('anomalies', () => {
    it('records an anomaly once: a repeat keeps the first, and its detectedAt', async () => {
      await store.putAnomalies('v@1', [anomaly(1_000, 'a')], EXPIRES);

      await store.putAnomalies('v@1', [anomaly(1_000, 'a', { detectedAt: 99_000, score: 12 })], EXPIRES);

      expect(await store.listAnomalies('v@1', { from: 0, to: END_OF_TIME }, 10, null)).toEqual({
        anomalies: [anomaly(1_000, 'a')],
        nextCursor: null,
      });
    });

    it('lists windowStart in [from, to), oldest window first, then by group', async () => {
      await store.putAnomalies(
        'v@1',
        [anomaly(3_000, 'a'), anomaly(1_000, 'b'), anomaly(2_000, 'b'), anomaly(2_000, 'a'), anomaly(4_000, 'a')],
        EXPIRES,
      );

      const page = await store.listAnomalies('v@1', { from: 2_000, to: 4_000 }, 10, null);

      expect(page.anomalies.map((a) => [a.windowStart, a.groupKey])).toEqual([
        [2_000, groupKeyOf(['a'])],
        [2_000, groupKeyOf(['b'])],
        [3_000, groupKeyOf(['a'])],
      ]);
      expect(page.nextCursor).toBeNull();
    });

    it('pages by limit and nextCursor, and ends with a null cursor', async () => {
      await store.putAnomalies(
        'v@1',
        [1, 2, 3, 4, 5].map((i) => anomaly(i * 1_000, 'a')),
        EXPIRES,
      );

      const byTwo = await anomalyPages(store, { from: 0, to: END_OF_TIME }, 2);
      const byFive = await store.listAnomalies('v@1', { from: 0, to: END_OF_TIME }, 5, null);

      expect(byTwo.map((p) => p.map(([start]) => start))).toEqual([[1_000, 2_000], [3_000, 4_000], [5_000]]);
      expect(byFive.anomalies).toHaveLength(5);
      expect(byFive.nextCursor).toBeNull();
    });

    it('lists one group’s anomalies, page by page', async () => {
      await store.putAnomalies(
        'v@1',
        [1, 2, 3, 4, 5].flatMap((i) => [anomaly(i * 1_000, 'a'), anomaly(i * 1_000, 'b')]),
        EXPIRES,
      );

      const pages = await anomalyPages(store, { from: 2_000, to: END_OF_TIME, groupKey: groupKeyOf(['b']) }, 2);

      expect(pages.flat()).toEqual([2_000, 3_000, 4_000, 5_000].map((t) => [t, groupKeyOf(['b'])]));
      expect(pages.every((p) => p.length <= 2)).toBe(true);
    });

    it('keeps each view’s anomalies apart', async () => {
      await store.putAnomalies('v@2', [anomaly(1_000, 'a', { view: 'w' })], EXPIRES);

      expect(await store.listAnomalies('v@1', { from: 0, to: END_OF_TIME }, 10, null)).toEqual({
        anomalies: [],
        nextCursor: null,
      });
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

    it('stores an attempt’s intent and gives it back', async () => {
      const intent = {
        firstSeq: '0006',
        keys: [
          { viewId: 'v@1', paneStart: 10_000, bucket: 2, parts: 3, fromPart: 1 },
          { viewId: 'v@2', paneStart: 0, bucket: 0, parts: 1, fromPart: 0 },
        ],
      };
      await store.putShardState(shardState({ intent }), null, false);

      expect(await store.getShardStates()).toEqual([shardState({ intent })]);
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
      await store.putOpenWindows('v@1', 'r|1', [openWindow(1_000, 0, { round: 1 })]);
      await store.putOpenWindows('v@1', 'r1', [openWindow(1_000, 0, { round: 2 })]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got.map((e) => e.round)).toEqual([2, 1]);
    });

    it('lists at most limit entries, the soonest', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(3_000, 0), openWindow(1_000, 0), openWindow(2_000, 0)]);

      const got = await store.listOpenWindows('v@1', 10_000, 2);

      expect(got.map((e) => e.readyAt)).toEqual([1_000, 2_000]);
    });

    it('gives back each entry’s window, readiness and round, with a key', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 400, { round: 2, prevCut: 900 })]);

      const [got] = await store.listOpenWindows('v@1', 10_000, 10);

      expect(got).toEqual({ ...openWindow(1_000, 400, { round: 2, prevCut: 900 }), key: expect.any(String) });
    });

    it('writes an entry once: the same tag and window again keeps the first', async () => {
      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0, { round: 1 })]);

      await store.putOpenWindows('v@1', 't', [openWindow(1_000, 0, { round: 5 })]);

      const got = await store.listOpenWindows('v@1', 10_000, 10);
      expect(got.map((e) => e.round)).toEqual([1]);
    });

    it('fixes a session round’s cut once: a second cut gives back the first, and no entry is listed for it', async () => {
      expect(await store.fixRoundCut('v@1', 3_000, 1, 700, EXPIRES)).toBe(700);
      expect(await store.fixRoundCut('v@1', 3_000, 1, 900, EXPIRES)).toBe(700);
      expect(await store.fixRoundCut('v@1', 3_000, 2, 900, EXPIRES)).toBe(900);

      expect(await store.listOpenWindows('v@1', 10 ** 14, 10)).toEqual([]);
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
