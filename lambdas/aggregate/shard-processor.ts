/**
 * Applies one Lambda batch of one shard to the state store, with exactly-once effect.
 *
 * 1. Read every shard's progress. Records at or below this shard's stored `seq` were fully applied by an
 *    earlier attempt: skip them. (The shard item is written last, so its `seq` means "everything up to here".)
 * 2. A shard that was idle rejoins at the pipeline watermark: its floor is raised and stored
 *    first, so a window that turned final while it was idle stays final.
 * 3. Aggregate the batch into pane deltas; lateness is decided per record by the shard's own watermark.
 * 4. Read the touched panes. A pane whose stored `seq` is at or past the first record that touched it was
 *    partly written by a failed attempt: recompute its delta from the records after its `seq` only.
 * 5. Write side records (late, dead letters), then each pane once (conditional on its `seq`), then the shard
 *    item with the new counters and watermark. Any failure throws, and Lambda retries the batch.
 */
import { paneRefKey, type ShardState, type StateStore, type StoredPane } from '../adapters/state-store.ts';
import {
  BatchAggregator,
  type BatchCounters,
  type BatchRecord,
  type PaneDelta,
  type ShardProgress,
  watermarkOf,
} from '../core/batch-aggregator.ts';
import type { PipelineConfig } from '../core/config.ts';
import { viewVersion } from '../core/group.ts';
import { ViewMeasures } from '../core/pane.ts';
import { pipelineWatermark } from '../core/watermark.ts';

export interface BatchReport {
  readonly shardId: string;
  readonly records: number;
  readonly skippedRecords: number;
  readonly paneWrites: number;
  readonly redonePanes: number;
  readonly counters: BatchCounters;
  readonly watermark: number | null;
}

type Store = Pick<StateStore, 'getShardStates' | 'putShardState' | 'getPanes' | 'putPanes' | 'putSideRecords'>;

export class ShardProcessor {
  private readonly aggregator: BatchAggregator;
  private readonly viewIds: readonly string[];
  private readonly measures: readonly ViewMeasures[];

  constructor(
    private readonly config: PipelineConfig,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.aggregator = new BatchAggregator(config);
    this.viewIds = config.views.map((v) => `${v.name}@${viewVersion(v)}`);
    this.measures = config.views.map((v) => new ViewMeasures(v));
  }

  async process(shardId: string, batch: readonly BatchRecord[]): Promise<BatchReport> {
    const states = await this.store.getShardStates();
    const stored = states.find((s) => s.shardId === shardId);
    const records = stored?.seq ? batch.filter((r) => r.seq > stored.seq!) : batch;
    const empty: BatchCounters = { processed: 0, late: 0, lateByView: {}, deadLettered: 0 };
    if (records.length === 0) {
      return {
        shardId,
        records: 0,
        skippedRecords: batch.length,
        paneWrites: 0,
        redonePanes: 0,
        counters: empty,
        watermark: null,
      };
    }

    const now = this.now();
    let shard = stored ?? this.newShard(shardId);
    // A shard seen before that went idle was left out of the pipeline watermark, which may have made windows
    // final without it: it rejoins at that watermark. A brand-new shard is not lifted: when one shard replays
    // a backlog before another's first batch, lifting would make all of the latecomer's events late.
    if (stored && now - stored.lastActivityMs > this.config.idleTimeoutMs) {
      shard = await this.rejoin(shard, states, now);
    }
    const progress: ShardProgress = { maxEventTime: shard.maxEventTime, watermarkFloor: shard.watermarkFloor };

    const result = this.aggregator.aggregate(records, progress);
    const refs = [...result.panes.values()].map((d) => this.ref(d));
    const current = await this.store.getPanes(shardId, refs);

    // Panes a failed attempt already wrote (partly or wholly): redo them from the records after their seq.
    const redo = new Map<string, string>();
    for (const [key, delta] of result.panes) {
      const existing = current.get(paneRefKey(this.ref(delta)));
      if (existing && existing.seq >= delta.firstSeq) redo.set(key, existing.seq);
    }
    if (redo.size > 0) {
      const again = this.aggregator.aggregate(records, progress, (key, seq) => {
        const after = redo.get(key);
        return after !== undefined && seq > after;
      });
      for (const key of redo.keys()) {
        const delta = again.panes.get(key);
        if (delta) result.panes.set(key, delta);
        else result.panes.delete(key);
      }
    }

    await this.store.putSideRecords('late', shardId, result.late);
    await this.store.putSideRecords('dead', shardId, result.deadLetters);
    const writes = [...result.panes.values()].map((delta) => {
      const ref = this.ref(delta);
      const existing = current.get(paneRefKey(ref));
      return { pane: this.mergeInto(shardId, delta, existing), expectedSeq: existing?.seq ?? null };
    });
    await this.store.putPanes(writes);

    const lastSeq = records[records.length - 1]!.seq;
    const next: ShardState = {
      ...shard,
      seq: lastSeq,
      maxEventTime: result.maxEventTime,
      lastActivityMs: now,
      batches: shard.batches + 1,
      counters: addCounters(shard.counters, result.counters),
    };
    await this.store.putShardState(next, shard.seq, stored !== undefined);
    return {
      shardId,
      records: records.length,
      skippedRecords: batch.length - records.length,
      paneWrites: writes.length,
      redonePanes: redo.size,
      counters: result.counters,
      watermark: finiteOrNull(watermarkOf(next, this.config.outOfOrdernessMs)),
    };
  }

  private newShard(shardId: string): ShardState {
    return {
      shardId,
      seq: null,
      maxEventTime: null,
      watermarkFloor: null,
      lastActivityMs: 0,
      batches: 0,
      counters: { processed: 0, late: 0, lateByView: {}, deadLettered: 0 },
    };
  }

  /** Raises an idle shard's watermark floor to the pipeline watermark, and stores it before any effect. */
  private async rejoin(shard: ShardState, states: readonly ShardState[], now: number): Promise<ShardState> {
    const others = states.filter((s) => s.shardId !== shard.shardId);
    const { outOfOrdernessMs, idleTimeoutMs } = this.config;
    const pipeline = pipelineWatermark(others, now, outOfOrdernessMs, idleTimeoutMs);
    const own = watermarkOf(shard, outOfOrdernessMs);
    const floor = pipeline !== null && pipeline > own ? pipeline : shard.watermarkFloor;
    const rejoined: ShardState = { ...shard, watermarkFloor: floor, lastActivityMs: now };
    await this.store.putShardState(rejoined, shard.seq, true);
    return rejoined;
  }

  private ref(delta: PaneDelta) {
    return { viewId: this.viewIds[delta.viewIndex]!, groupKey: delta.groupKey, paneStart: delta.paneStart };
  }

  private mergeInto(shardId: string, delta: PaneDelta, existing: StoredPane | undefined): StoredPane {
    const measures = this.measures[delta.viewIndex]!;
    const partial = {
      count: delta.count,
      minTime: delta.minTime,
      maxTime: delta.maxTime,
      accumulators: delta.accumulators,
    };
    if (existing) {
      measures.merge(partial, measures.decode(existing.count, existing.minTime, existing.maxTime, existing.partials));
    }
    return {
      ...this.ref(delta),
      shardId,
      group: delta.group,
      seq: delta.lastSeq,
      count: partial.count,
      minTime: partial.minTime,
      maxTime: partial.maxTime,
      partials: measures.encode(partial),
    };
  }
}

function addCounters(a: BatchCounters, b: BatchCounters): BatchCounters {
  const lateByView = { ...a.lateByView };
  for (const [view, n] of Object.entries(b.lateByView)) lateByView[view] = (lateByView[view] ?? 0) + n;
  return {
    processed: a.processed + b.processed,
    late: a.late + b.late,
    deadLettered: a.deadLettered + b.deadLettered,
    lateByView,
  };
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
