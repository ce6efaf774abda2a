/**
 * An in-memory StateStore with DynamoDB's conditional-write semantics, for fast property tests of the shard
 * processor. test/adapters/state-store.contract.test.ts runs the same cases against it and the DynamoDB adapter,
 * which is the truth: orders are those of the table's sort keys (code units, not locale), fields the table keeps
 * as JSON come back as JSON carries them, and pages end as DynamoDB's Limit ends them.
 *
 * Left out on purpose (storage detail below DynamoDB's 400 KB item limit): side records and open-window entries
 * are never split over several items, and side entries too large or too deeply nested are kept whole.
 *
 * `meter` bills every call as DynamoDB would bill the adapter's requests: each write meters the very item the
 * adapter writes (built by the adapter's own item builders), failed conditions included, and each read the
 * items the adapter's request would read (BatchGetItem by item, Query by page).
 */

import { anomalyItem, anomalyListBounds, anomalyPk } from '../../lambdas/adapters/dynamo/anomaly-items.ts';
import { failedBatchItem, failedBatchSortKey } from '../../lambdas/adapters/dynamo/failed-batch-items.ts';
import {
  INGEST_COUNTER_ITEMS,
  idempotencyClaimItem,
  idempotencyKey,
  ingestCounterItem,
  ingestCounterKey,
} from '../../lambdas/adapters/dynamo/ingest-ledger-items.ts';
import { recordOriginItem } from '../../lambdas/adapters/dynamo/record-origin-items.ts';
import {
  decodeIntent,
  emittedThroughItem,
  emittedThroughKey,
  encodeIntent,
  shardStateItem,
} from '../../lambdas/adapters/dynamo/shard-progress-items.ts';
import { sideRecordItems } from '../../lambdas/adapters/dynamo/side-record-items.ts';
import type { SideRecord } from '../../lambdas/core/batch-aggregator.ts';
import {
  type AnomalyPage,
  ConcurrentWriteError,
  type FailedBatch,
  type FailedBatchPage,
  type FailedBatchRedrive,
  type IdempotencyClaim,
  type IngestCounts,
  type ShardState,
  type SideKind,
  type SidePage,
  type StateStore,
  type StoredAnomaly,
  type StoredFailedBatch,
  type StoredResponse,
  type StoredSideRecord,
} from '../../lambdas/core/store.ts';
import { CapacityMeter, itemKey } from './capacity-meter.ts';
import { MemoryPaneLog } from './memory-pane-log.ts';

/** As the adapter pads numbers in sort keys, so that keys sort as the numbers do. */
const pad = (n: number, digits = 15): string => String(n).padStart(digits, '0');
/** DynamoDB compares string keys by their bytes; for the keys used here that is JavaScript's `<`, not localeCompare. */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A value the adapter stores as JSON text: what JSON cannot carry (-0, NaN, undefined) comes back as JSON gives it. */
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** As the adapter's IDEMPOTENCY_PENDING_MS: a pending claim older than this may be taken over. */
const IDEMPOTENCY_PENDING_MS = 12_000;

export class MemoryStateStore implements StateStore {
  /** What the same calls would cost on DynamoDB, by kind of item (`pane`, `shard`, `open`, `emitted`, ...). */
  readonly meter = new CapacityMeter();
  readonly shards = new Map<string, ShardState>();
  /** Side records by the adapter's sort key, `<arrival ms>|<shard>|<seq>|0`. */
  readonly side = { late: new Map<string, StoredSideRecord>(), dead: new Map<string, StoredSideRecord>() };
  /** The pane log, compacted windows and open-window entries (test/support/memory-pane-log.ts). */
  readonly pane = new MemoryPaneLog(this.meter);
  /** When set, the n-th shard-item write from now fails (simulates a crash mid-batch). */
  failShardWriteAfter: number | null = null;

  /** When set, the n-th delta write from now fails (simulates a crash mid-batch). */
  set failDeltaWriteAfter(n: number | null) {
    this.pane.failDeltaWriteAfter = n;
  }

  putDeltas: MemoryPaneLog['putDeltas'] = (...a) => this.pane.putDeltas(...a);
  deleteDeltas: MemoryPaneLog['deleteDeltas'] = (...a) => this.pane.deleteDeltas(...a);
  queryDeltas: MemoryPaneLog['queryDeltas'] = (...a) => this.pane.queryDeltas(...a);
  putCompacted: MemoryPaneLog['putCompacted'] = (...a) => this.pane.putCompacted(...a);
  getCompacted: MemoryPaneLog['getCompacted'] = (...a) => this.pane.getCompacted(...a);
  listCompacted: MemoryPaneLog['listCompacted'] = (...a) => this.pane.listCompacted(...a);
  getChunks: MemoryPaneLog['getChunks'] = (...a) => this.pane.getChunks(...a);
  getLatestCompacted: MemoryPaneLog['getLatestCompacted'] = (...a) => this.pane.getLatestCompacted(...a);
  getDetectorStates: MemoryPaneLog['getDetectorStates'] = (...a) => this.pane.getDetectorStates(...a);
  getChunk: MemoryPaneLog['getChunk'] = (...a) => this.pane.getChunk(...a);
  getCompactedThrough: MemoryPaneLog['getCompactedThrough'] = (...a) => this.pane.getCompactedThrough(...a);
  raiseCompactedThrough: MemoryPaneLog['raiseCompactedThrough'] = (...a) => this.pane.raiseCompactedThrough(...a);
  putOpenWindows: MemoryPaneLog['putOpenWindows'] = (...a) => this.pane.putOpenWindows(...a);
  fixRoundCut: MemoryPaneLog['fixRoundCut'] = (...a) => this.pane.fixRoundCut(...a);
  listOpenWindows: MemoryPaneLog['listOpenWindows'] = (...a) => this.pane.listOpenWindows(...a);
  deleteOpenWindows: MemoryPaneLog['deleteOpenWindows'] = (...a) => this.pane.deleteOpenWindows(...a);
  /** DynamoDB's TTL at `nowS` (epoch seconds): expired deltas and compacted windows are deleted (tests). */
  expire: MemoryPaneLog['expire'] = (nowS) => this.pane.expire(nowS);
  /** Every published result (tests). */
  published: MemoryPaneLog['published'] = () => this.pane.published();
  /** Events in the live deltas, of one pane start and view-id prefix if given (tests). */
  paneEvents: MemoryPaneLog['events'] = (...a) => this.pane.events(...a);

  emittedThrough: number | null = null;

  async getEmittedThrough(): Promise<number | null> {
    this.meter.readKeys('pipeline', [itemKey(emittedThroughKey())], { consistent: true, op: 'get' });
    return this.emittedThrough;
  }

  async raiseEmittedThrough(watermark: number): Promise<void> {
    const raised = this.emittedThrough === null || watermark > this.emittedThrough;
    this.meter.put('pipeline', emittedThroughItem(watermark), { conditionFailed: !raised });
    if (raised) this.emittedThrough = watermark;
  }

  async getShardStates(): Promise<ShardState[]> {
    const keys = [...this.shards.keys()].sort(byCodeUnits).map((shardId) => `shard|${shardId}`);
    this.meter.queryKeys('shard', keys, { consistent: true });
    return structuredClone([...this.shards.values()]);
  }

  async putShardState(state: ShardState, expectedSeq: string | null, expectExisting: boolean): Promise<void> {
    const current = this.shards.get(state.shardId);
    if (this.failShardWriteAfter !== null && this.failShardWriteAfter-- <= 0) {
      this.failShardWriteAfter = null;
      throw new Error('simulated crash while writing the shard item');
    }
    const ok = expectExisting ? current !== undefined && current.seq === expectedSeq : current === undefined;
    this.meter.put('shard', shardStateItem(state), { conditionFailed: !ok });
    if (!ok) throw new ConcurrentWriteError(`shard ${state.shardId}`);
    // As the adapter stores it (a large intent coarsely).
    const intent = state.intent ? decodeIntent(encodeIntent(state.intent)) : null;
    this.shards.set(state.shardId, structuredClone({ ...state, intent }));
  }

  async putSideRecords(kind: SideKind, shardId: string, records: readonly SideRecord[]): Promise<void> {
    for (const item of sideRecordItems(kind, shardId, records, Date.now())) this.meter.put(kind, item);
    for (const r of records) {
      const record = { shardId, seq: r.seq, arrivalMs: r.arrivalMs, entries: viaJson(r.entries) };
      this.side[kind].set(`${pad(r.arrivalMs, 13)}|${shardId}|${r.seq}|0`, record);
    }
  }

  async listSideRecords(kind: SideKind, limit: number, cursor: string | null): Promise<SidePage> {
    const keys = [...this.side[kind].keys()].sort(byCodeUnits).reverse();
    const page = keys.filter((k) => cursor === null || k < cursor).slice(0, limit);
    // Eventually consistent, as the adapter reads them.
    this.meter.queryKeys(
      kind,
      page.map((k) => `${kind}|${k}`),
      { consistent: false },
    );
    return {
      records: page.map((k) => structuredClone(this.side[kind].get(k)!)),
      // As DynamoDB's LastEvaluatedKey: a full page has a cursor, even when nothing follows it.
      nextCursor: page.length === limit ? (page[page.length - 1] ?? null) : null,
    };
  }

  /** Anomalies by the adapter's item key (`anom|<view>|<sk>`). */
  readonly anomalies = new Map<string, StoredAnomaly>();

  async putAnomalies(viewId: string, anomalies: readonly StoredAnomaly[], expiresAtS: number): Promise<void> {
    for (const a of anomalies) {
      const item = anomalyItem(viewId, a, expiresAtS);
      const key = itemKey(item);
      this.meter.put('anomaly', item, { conditionFailed: this.anomalies.has(key) });
      if (!this.anomalies.has(key)) this.anomalies.set(key, structuredClone(a));
    }
  }

  async listAnomalies(
    viewId: string,
    range: { readonly from: number; readonly to: number; readonly groupKey?: string },
    limit: number,
    cursor: string | null,
  ): Promise<AnomalyPage> {
    const { from, until } = anomalyListBounds(range.from, range.to, cursor);
    const prefix = `${anomalyPk(viewId)}|`;
    const keys = [...this.anomalies.keys()]
      .filter((k) => k.startsWith(prefix) && k.slice(prefix.length) >= from && k.slice(prefix.length) < until)
      .sort(byCodeUnits);
    const matching = keys.filter(
      (k) => range.groupKey === undefined || this.anomalies.get(k)!.groupKey === range.groupKey,
    );
    const page = matching.slice(0, limit);
    const lastKey = page[page.length - 1];
    // Read up to the last one listed (a group's listing filters the items it reads).
    this.meter.queryKeys('anomaly', lastKey ? keys.slice(0, keys.indexOf(lastKey) + 1) : keys, { consistent: true });
    return {
      anomalies: page.map((k) => structuredClone(this.anomalies.get(k)!)),
      nextCursor: matching.length > limit && lastKey ? lastKey.slice(prefix.length) : null,
    };
  }

  readonly origins = new Map<string, string>();

  async claimRecordOrigins(claims: ReadonlyArray<{ origin: string; seq: string }>): Promise<Set<string>> {
    const taken = new Set<string>();
    const nowMs = Date.now();
    for (const { origin, seq } of claims) {
      const owner = this.origins.get(origin);
      this.meter.put('origin', recordOriginItem(origin, seq, nowMs), {
        conditionFailed: owner !== undefined && owner !== seq,
      });
      if (owner === undefined) this.origins.set(origin, seq);
      else if (owner !== seq) taken.add(origin);
    }
    return taken;
  }

  readonly ingest: IngestCounts = { accepted: 0, rejected: 0, requestsRejected: 0 };
  /** What each of the adapter's counter items would hold: it adds each request to one of them at random. */
  private readonly ingestSlots: Array<Partial<Record<keyof IngestCounts, number>>> = Array.from(
    { length: INGEST_COUNTER_ITEMS },
    () => ({}),
  );
  async addIngestCounts(counts: Partial<IngestCounts>): Promise<void> {
    const target = this.ingest as { -readonly [K in keyof IngestCounts]: number };
    const added = (Object.entries(counts) as Array<[keyof IngestCounts, number | undefined]>).filter(
      ([, n]) => n !== undefined,
    );
    if (added.length === 0) return;
    const slotIndex = Math.floor(Math.random() * INGEST_COUNTER_ITEMS);
    const slot = this.ingestSlots[slotIndex]!;
    for (const [name, n] of added) {
      target[name] += n!;
      slot[name] = (slot[name] ?? 0) + n!;
    }
    this.meter.put('ingest', ingestCounterItem(slotIndex, slot));
  }
  async getIngestCounts(): Promise<IngestCounts> {
    const keys = this.ingestSlots.flatMap((slot, i) =>
      Object.keys(slot).length > 0 ? [itemKey(ingestCounterKey(i))] : [],
    );
    this.meter.queryKeys('ingest', keys, { consistent: true });
    return { ...this.ingest };
  }
  readonly failedBatches = new Map<string, StoredFailedBatch>();
  async putFailedBatch(batch: FailedBatch): Promise<boolean> {
    const key = failedBatchSortKey(batch);
    this.meter.put('failed', failedBatchItem({ ...batch, redrive: null }), {
      conditionFailed: this.failedBatches.has(key),
    });
    if (this.failedBatches.has(key)) return false;
    // Only markFailedBatchRedriven records a redrive.
    this.failedBatches.set(key, structuredClone({ ...batch, redrive: null, key }));
    return true;
  }
  async listFailedBatches(limit: number, cursor: string | null): Promise<FailedBatchPage> {
    const keys = [...this.failedBatches.keys()].sort().reverse();
    const after = cursor === null ? keys : keys.filter((k) => k < cursor);
    const page = after.slice(0, limit);
    this.meter.queryKeys(
      'failed',
      page.map((k) => `failed|${k}`),
      { consistent: true },
    );
    return {
      batches: page.map((k) => structuredClone(this.failedBatches.get(k)!)),
      // As DynamoDB's LastEvaluatedKey: a full page has a cursor, even when nothing follows it.
      nextCursor: page.length === limit ? (page[page.length - 1] ?? null) : null,
    };
  }
  async markFailedBatchRedriven(key: string, redrive: FailedBatchRedrive): Promise<void> {
    const batch = this.failedBatches.get(key);
    const applies = batch !== undefined && batch.redrive === null;
    if (batch) this.meter.put('failed', failedBatchItem({ ...batch, redrive }), { conditionFailed: !applies });
    // The adapter's UpdateItem on a key with no item fails its condition too: billed 1 unit.
    else this.meter.write('failed', undefined, undefined, { conditionFailed: true });
    if (applies) this.failedBatches.set(key, { ...batch, redrive: { ...redrive } });
  }
  readonly idempotencyKeys = new Map<string, { pendingUntil: number | null; response: StoredResponse | null }>();
  async claimIdempotencyKey(key: string, nowMs: number): Promise<IdempotencyClaim> {
    const current = this.idempotencyKeys.get(key);
    const abandoned = current?.response === null && current.pendingUntil !== null && current.pendingUntil < nowMs;
    const claimed = current === undefined || abandoned;
    this.meter.put('idem', idempotencyClaimItem(key, nowMs), { conditionFailed: !claimed });
    if (claimed) {
      this.idempotencyKeys.set(key, { pendingUntil: nowMs + IDEMPOTENCY_PENDING_MS, response: null });
      return { state: 'claimed' };
    }
    // The adapter reads the claim that is there.
    this.meter.readKeys('idem', [itemKey(idempotencyKey(key))], { consistent: true, op: 'get' });
    if (current.response !== null) return { state: 'done', response: { ...current.response } };
    return { state: 'in-progress' };
  }
  async completeIdempotencyKey(key: string, response: StoredResponse): Promise<void> {
    const pendingUntil = this.idempotencyKeys.get(key)?.pendingUntil ?? null;
    // The adapter's UpdateItem sets the response on the claim (or on a bare key if the claim is gone).
    const claim =
      pendingUntil === null ? idempotencyKey(key) : idempotencyClaimItem(key, pendingUntil - IDEMPOTENCY_PENDING_MS);
    this.meter.put('idem', {
      ...claim,
      st: { S: 'done' },
      code: { N: String(response.statusCode) },
      body: { S: response.body },
    });
    this.idempotencyKeys.set(key, { pendingUntil, response: { ...response } });
  }
  async releaseIdempotencyKey(key: string): Promise<void> {
    this.meter.delete('idem', itemKey(idempotencyKey(key)));
    this.idempotencyKeys.delete(key);
  }
}
