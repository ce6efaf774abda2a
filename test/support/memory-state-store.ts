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

import { failedBatchItem, failedBatchSortKey } from '../../lambdas/adapters/dynamo/failed-batch-items.ts';
import {
  INGEST_COUNTER_ITEMS,
  idempotencyClaimItem,
  idempotencyKey,
  ingestCounterItem,
  ingestCounterKey,
} from '../../lambdas/adapters/dynamo/ingest-ledger-items.ts';
import { emittedItem, openWindowItems } from '../../lambdas/adapters/dynamo/outbox-items.ts';
import { BATCH_GET_LIMIT, paneItem, paneItemKey } from '../../lambdas/adapters/dynamo/pane-items.ts';
import { recordOriginItem } from '../../lambdas/adapters/dynamo/record-origin-items.ts';
import {
  emittedThroughItem,
  emittedThroughKey,
  shardStateItem,
} from '../../lambdas/adapters/dynamo/shard-progress-items.ts';
import { sideRecordItems } from '../../lambdas/adapters/dynamo/side-record-items.ts';
import type { SideRecord } from '../../lambdas/core/batch-aggregator.ts';
import { paneKey } from '../../lambdas/core/pane.ts';
import {
  ConcurrentWriteError,
  type EmittedPage,
  type EmittedResult,
  type FailedBatch,
  type FailedBatchPage,
  type FailedBatchRedrive,
  type IdempotencyClaim,
  type IngestCounts,
  type OpenWindows,
  type PaneRef,
  type ShardState,
  type SideKind,
  type SidePage,
  type StateStore,
  type StoredFailedBatch,
  type StoredPane,
  type StoredResponse,
  type StoredSideRecord,
} from '../../lambdas/core/store.ts';
import { CapacityMeter, itemKey } from './capacity-meter.ts';

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
  /** paneKey + shard → pane */
  readonly panes = new Map<string, StoredPane>();
  /** viewId|groupKey → that group's panes, so a group's query does not scan every pane. */
  private readonly panesByGroup = new Map<string, Map<string, StoredPane>>();
  /** Side records by the adapter's sort key, `<arrival ms>|<shard>|<seq>|0`. */
  readonly side = { late: new Map<string, StoredSideRecord>(), dead: new Map<string, StoredSideRecord>() };
  readonly open = new Map<string, OpenWindows & { viewId: string }>();
  /** viewId|key of an open-window entry → the meter's keys of the items the adapter would write for it. */
  private readonly openItemKeys = new Map<string, string[]>();
  /** viewId|`<windowEnd>|<windowStart>|<groupKey>` (the adapter's sort key) → the published result. */
  readonly emitted = new Map<string, EmittedResult & { viewId: string }>();
  /** Attempts to publish a window that was already published (retries, several shards): must be no-ops. */
  repeatedEmits = 0;
  paneWrites = 0;
  /** Write requests of each kind, as DynamoDB would bill them (one per item written or deleted). */
  readonly writeCounts = { panes: 0, shards: 0, openWindows: 0, openWindowDeletes: 0, emitted: 0 };
  /** When set, the n-th pane write from now fails (simulates a crash mid-batch). */
  failPaneWriteAfter: number | null = null;

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
    const ok = expectExisting ? current !== undefined && current.seq === expectedSeq : current === undefined;
    this.meter.put('shard', shardStateItem(state), { conditionFailed: !ok });
    if (!ok) throw new ConcurrentWriteError(`shard ${state.shardId}`);
    this.shards.set(state.shardId, structuredClone(state));
    this.writeCounts.shards++;
  }

  async getPanes(shardId: string, refs: readonly PaneRef[]): Promise<Map<string, StoredPane>> {
    for (let i = 0; i < refs.length; i += BATCH_GET_LIMIT) {
      const keys = refs.slice(i, i + BATCH_GET_LIMIT).map((ref) => itemKey(paneItemKey(ref, shardId)));
      this.meter.readKeys('pane', keys, { consistent: true, op: 'get' });
    }
    const out = new Map<string, StoredPane>();
    for (const ref of refs) {
      const pane = this.panes.get(`${paneKey(ref)}|${shardId}`);
      if (pane) out.set(paneKey(ref), structuredClone(pane));
    }
    return out;
  }

  async putPanes(writes: ReadonlyArray<{ pane: StoredPane; expectedSeq: string | null }>): Promise<void> {
    for (const { pane, expectedSeq } of writes) {
      if (this.failPaneWriteAfter !== null && this.failPaneWriteAfter-- <= 0) {
        this.failPaneWriteAfter = null;
        throw new Error('simulated crash during pane writes');
      }
      const key = `${paneKey(pane)}|${pane.shardId}`;
      const current = this.panes.get(key);
      const ok = (current?.seq ?? null) === expectedSeq;
      this.meter.put('pane', paneItem(pane, Date.now()), { conditionFailed: !ok });
      if (!ok) throw new ConcurrentWriteError(key);
      this.panes.set(key, { ...pane, group: viaJson(pane.group), partials: viaJson(pane.partials) });
      const group = `${pane.viewId}|${pane.groupKey}`;
      const list = this.panesByGroup.get(group) ?? new Map<string, StoredPane>();
      list.set(key, this.panes.get(key)!);
      this.panesByGroup.set(group, list);
      this.paneWrites++;
      this.writeCounts.panes++;
    }
  }

  async *queryPanes(viewId: string, groupKey: string, fromPane: number, toPane: number): AsyncIterable<StoredPane> {
    if (toPane <= fromPane) return;
    const matching = [...(this.panesByGroup.get(`${viewId}|${groupKey}`)?.values() ?? [])]
      .filter((p) => p.paneStart >= fromPane && p.paneStart < toPane)
      .sort((a, b) => a.paneStart - b.paneStart || byCodeUnits(a.shardId, b.shardId));
    this.meter.queryKeys(
      'pane',
      matching.map((p) => itemKey(paneItemKey(p, p.shardId))),
      { consistent: true },
    );
    for (const p of matching) yield structuredClone(p);
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

  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>) {
    for (const e of entries) {
      // The adapter writes an item per chunk of groups: no groups, no item.
      if (e.groups.length === 0) continue;
      const key = `${pad(e.readyAt)}|${pad(e.windowStart)}|${tag}|0`;
      const items = openWindowItems(viewId, tag, [e]);
      for (const item of items) this.meter.put('open', item);
      this.open.set(`${viewId}|${key}`, { ...viaJson(e), key, viewId });
      this.openItemKeys.set(`${viewId}|${key}`, items.map(itemKey));
      this.writeCounts.openWindows++;
    }
  }

  async listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]> {
    if (readyBy < 0) return [];
    const page = [...this.open.values()]
      .filter((e) => e.viewId === viewId && e.readyAt <= readyBy)
      .sort((a, b) => byCodeUnits(a.key, b.key))
      .slice(0, limit);
    // The adapter's Limit counts items; an entry is one item unless its groups filled more than one.
    this.meter.queryKeys(
      'open',
      page.flatMap((e) => this.openItemKeys.get(`${viewId}|${e.key}`) ?? []),
      { consistent: true },
    );
    return page.map(({ viewId: _, ...e }) => structuredClone(e));
  }

  async deleteOpenWindows(viewId: string, key: string): Promise<void> {
    // The adapter deletes each item of an entry as the emitter lists it: one DeleteItem per item.
    for (const k of this.openItemKeys.get(`${viewId}|${key}`) ?? [`open|${viewId}|${key}`])
      this.meter.delete('open', k);
    this.open.delete(`${viewId}|${key}`);
    this.openItemKeys.delete(`${viewId}|${key}`);
    this.writeCounts.openWindowDeletes++;
  }

  /** Record origin → the sequence number of the record that owns it. */
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

  async putEmitted(viewId: string, result: EmittedResult): Promise<boolean> {
    // The window is (end, start, group), as in the adapter's sort key: a session of the same start that ends
    // elsewhere is another window.
    const key = `${viewId}|${pad(result.windowEnd)}|${pad(result.windowStart)}|${result.groupKey}`;
    this.meter.put('emitted', emittedItem(viewId, result), { conditionFailed: this.emitted.has(key) });
    if (this.emitted.has(key)) {
      this.repeatedEmits++;
      return false;
    }
    this.emitted.set(key, { ...viaJson(result), viewId });
    this.writeCounts.emitted++;
    return true;
  }

  async listEmitted(viewId: string, untilEnd: number, limit: number, cursor: string | null): Promise<EmittedPage> {
    const until = pad(Math.max(0, Math.min(untilEnd, 10 ** 15 - 1)));
    if (cursor !== null && cursor >= until) return { results: [], nextCursor: cursor };
    const prefix = `${viewId}|`;
    const page = [...this.emitted.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length))
      .filter((sk) => sk < until && (cursor === null || sk > cursor))
      .sort(byCodeUnits)
      .slice(0, limit);
    this.meter.queryKeys(
      'emitted',
      page.map((sk) => `emitted|${prefix}${sk}`),
      { consistent: true },
    );
    return {
      results: page.map((sk) => {
        const { viewId: _, ...result } = this.emitted.get(prefix + sk)!;
        return structuredClone(result);
      }),
      nextCursor: page[page.length - 1] ?? cursor,
    };
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

  /** Distinct (viewId, groupKey) pairs present. */
  groups(viewId: string): string[] {
    return [...this.panesByGroup.keys()]
      .filter((k) => k.startsWith(`${viewId}|`))
      .map((k) => k.slice(viewId.length + 1));
  }
}
