/**
 * An in-memory StateStore with DynamoDB's conditional-write semantics, for fast property tests of the shard
 * processor. End-to-end tests run the DynamoDB adapter against real emulators.
 */
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
  paneRefKey,
  type ShardState,
  type SideKind,
  type SidePage,
  type StateStore,
  type StoredFailedBatch,
  type StoredPane,
  type StoredResponse,
} from '../../lambdas/adapters/state-store.ts';
import type { SideRecord } from '../../lambdas/core/batch-aggregator.ts';

export class MemoryStateStore implements StateStore {
  readonly shards = new Map<string, ShardState>();
  /** paneRefKey + shard → pane */
  readonly panes = new Map<string, StoredPane>();
  /** viewId|groupKey → that group's panes, so a group's query does not scan every pane. */
  private readonly panesByGroup = new Map<string, Map<string, StoredPane>>();
  readonly side = { late: new Map<string, SideRecord>(), dead: new Map<string, SideRecord>() };
  readonly open = new Map<string, OpenWindows & { viewId: string }>();
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
    return this.emittedThrough;
  }

  async raiseEmittedThrough(watermark: number): Promise<void> {
    if (this.emittedThrough === null || watermark > this.emittedThrough) this.emittedThrough = watermark;
  }

  async getShardStates(): Promise<ShardState[]> {
    return structuredClone([...this.shards.values()]);
  }

  async putShardState(state: ShardState, expectedSeq: string | null, expectExisting: boolean): Promise<void> {
    const current = this.shards.get(state.shardId);
    const ok = expectExisting ? current !== undefined && current.seq === expectedSeq : current === undefined;
    if (!ok) throw new ConcurrentWriteError(`shard ${state.shardId}`);
    this.shards.set(state.shardId, structuredClone(state));
    this.writeCounts.shards++;
  }

  async getPanes(shardId: string, refs: readonly PaneRef[]): Promise<Map<string, StoredPane>> {
    const out = new Map<string, StoredPane>();
    for (const ref of refs) {
      const pane = this.panes.get(`${paneRefKey(ref)}|${shardId}`);
      if (pane) out.set(paneRefKey(ref), structuredClone(pane));
    }
    return out;
  }

  async putPanes(writes: ReadonlyArray<{ pane: StoredPane; expectedSeq: string | null }>): Promise<void> {
    for (const { pane, expectedSeq } of writes) {
      if (this.failPaneWriteAfter !== null && this.failPaneWriteAfter-- <= 0) {
        this.failPaneWriteAfter = null;
        throw new Error('simulated crash during pane writes');
      }
      const key = `${paneRefKey(pane)}|${pane.shardId}`;
      const current = this.panes.get(key);
      if ((current?.seq ?? null) !== expectedSeq) throw new ConcurrentWriteError(key);
      this.panes.set(key, structuredClone(pane));
      const group = `${pane.viewId}|${pane.groupKey}`;
      const list = this.panesByGroup.get(group) ?? new Map<string, StoredPane>();
      list.set(key, this.panes.get(key)!);
      this.panesByGroup.set(group, list);
      this.paneWrites++;
      this.writeCounts.panes++;
    }
  }

  async *queryPanes(viewId: string, groupKey: string, fromPane: number, toPane: number): AsyncIterable<StoredPane> {
    const matching = [...(this.panesByGroup.get(`${viewId}|${groupKey}`)?.values() ?? [])]
      .filter((p) => p.paneStart >= fromPane && p.paneStart < toPane)
      .sort((a, b) => a.paneStart - b.paneStart || a.shardId.localeCompare(b.shardId));
    for (const p of matching) yield structuredClone(p);
  }

  async putSideRecords(kind: SideKind, shardId: string, records: readonly SideRecord[]): Promise<void> {
    for (const r of records) this.side[kind].set(`${shardId}|${r.seq}`, structuredClone(r));
  }

  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>) {
    for (const e of entries) {
      const key = `${String(e.readyAt).padStart(15, '0')}|${String(e.windowStart).padStart(15, '0')}|${tag}|0`;
      this.open.set(`${viewId}|${key}`, structuredClone({ ...e, key, viewId }));
      this.writeCounts.openWindows++;
    }
  }

  async listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]> {
    return [...this.open.values()]
      .filter((e) => e.viewId === viewId && e.readyAt <= readyBy)
      .sort((a, b) => a.key.localeCompare(b.key))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async deleteOpenWindows(viewId: string, key: string): Promise<void> {
    this.open.delete(`${viewId}|${key}`);
    this.writeCounts.openWindowDeletes++;
  }

  /** Record origin → the sequence number of the record that owns it. */
  readonly origins = new Map<string, string>();

  async claimRecordOrigins(claims: ReadonlyArray<{ origin: string; seq: string }>): Promise<Set<string>> {
    const taken = new Set<string>();
    for (const { origin, seq } of claims) {
      const owner = this.origins.get(origin);
      if (owner === undefined) this.origins.set(origin, seq);
      else if (owner !== seq) taken.add(origin);
    }
    return taken;
  }

  async putEmitted(viewId: string, result: EmittedResult): Promise<boolean> {
    const key = `${viewId}|${result.groupKey}|${result.windowStart}`;
    if (this.emitted.has(key)) {
      this.repeatedEmits++;
      return false;
    }
    this.emitted.set(key, structuredClone({ ...result, viewId }));
    this.writeCounts.emitted++;
    return true;
  }

  async listEmitted(): Promise<EmittedPage> {
    throw new Error('not used by these tests');
  }

  async listSideRecords(): Promise<SidePage> {
    throw new Error('not used by these tests');
  }
  readonly ingest: IngestCounts = { accepted: 0, rejected: 0, requestsRejected: 0 };
  async addIngestCounts(counts: Partial<IngestCounts>): Promise<void> {
    const target = this.ingest as { -readonly [K in keyof IngestCounts]: number };
    for (const [name, n] of Object.entries(counts) as Array<[keyof IngestCounts, number]>) target[name] += n;
  }
  async getIngestCounts(): Promise<IngestCounts> {
    return { ...this.ingest };
  }
  readonly failedBatches = new Map<string, StoredFailedBatch>();
  async putFailedBatch(batch: FailedBatch): Promise<boolean> {
    const key = `${String(batch.failedAtMs).padStart(13, '0')}|${batch.source}|${batch.shardId}|${batch.startSequenceNumber}`;
    if (this.failedBatches.has(key)) return false;
    this.failedBatches.set(key, structuredClone({ ...batch, key }));
    return true;
  }
  async listFailedBatches(limit: number, cursor: string | null): Promise<FailedBatchPage> {
    const keys = [...this.failedBatches.keys()].sort().reverse();
    const after = cursor === null ? keys : keys.filter((k) => k < cursor);
    const page = after.slice(0, limit);
    return {
      batches: page.map((k) => structuredClone(this.failedBatches.get(k)!)),
      nextCursor: after.length > limit ? page[page.length - 1]! : null,
    };
  }
  async markFailedBatchRedriven(key: string, redrive: FailedBatchRedrive): Promise<void> {
    const batch = this.failedBatches.get(key);
    if (batch && batch.redrive === null) this.failedBatches.set(key, { ...batch, redrive: { ...redrive } });
  }
  async claimIdempotencyKey(): Promise<IdempotencyClaim> {
    return { state: 'claimed' };
  }
  async completeIdempotencyKey(_key: string, _response: StoredResponse): Promise<void> {}
  async releaseIdempotencyKey(): Promise<void> {}

  /** Distinct (viewId, groupKey) pairs present. */
  groups(viewId: string): string[] {
    return [...this.panesByGroup.keys()]
      .filter((k) => k.startsWith(`${viewId}|`))
      .map((k) => k.slice(viewId.length + 1));
  }
}
