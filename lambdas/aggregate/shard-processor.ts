/**
 * Applies one Lambda batch of one shard to the state store, with exactly-once effect.
 *
 * 1. Read every shard's progress. Records at or below this shard's stored `seq` were fully applied by an
 *    earlier attempt: skip them. (The shard item is written last, so its `seq` means "everything up to here".)
 * 2. Decide the watermark floor the batch is judged by (see prepareBatch), drop records that repeat one
 *    already applied, and aggregate the batch into one delta per (view, group, pane); lateness is decided per
 *    record by the shard's own watermark.
 * 3. Pack the deltas into few items per (view, pane, bucket) (lambdas/core/pane-log.ts), keyed by the shard
 *    and the batch's first record.
 * 4. Store the shard's lease, the records this attempt covers and its intent (the keys of its delta items)
 *    before any effect. An earlier unfinished attempt's intent says which items it may have written: those
 *    this attempt does not overwrite are deleted, so only one attempt's deltas ever count.
 * 5. Write side records (late, dead letters), the open-window entries of the windows touched (for the
 *    emitter), the delta items, then the shard item with the new counters and watermark. Any failure throws,
 *    and Lambda retries the batch.
 * 6. Publish the windows the pipeline watermark has made final (see window-emitter.ts).
 */

import { shardIdleAfterMs } from '../../config/event-source.ts';
import {
  addCounters,
  BatchAggregator,
  type BatchCounters,
  type BatchRecord,
  emptyCounters,
  type PaneDelta,
} from '../core/batch-aggregator.ts';
import type { PipelineConfig } from '../core/config.ts';
import { viewIdOf } from '../core/group.ts';
import { ViewMeasures } from '../core/pane.ts';
import { type DeltaItem, type DeltaKey, deltaKeys, type GroupPartial, packDeltas } from '../core/pane-log.ts';
import {
  ConcurrentWriteError,
  type DeltaIntent,
  newShardState,
  type ShardState,
  type StateStore,
} from '../core/store.ts';
import { isIdle, pipelineWatermark, shardWatermark, type WatermarkSettings } from '../core/watermark.ts';
import { type WindowAssigner, windowAssigner } from '../core/windows/index.ts';
import { type EmitBudget, type EmitReport, WindowEmitter } from './window-emitter.ts';

export interface BatchReport {
  readonly shardId: string;
  readonly records: number;
  readonly skippedRecords: number;
  /** Delta items written, and those of an earlier attempt deleted. */
  readonly deltaItems: number;
  readonly replacedItems: number;
  readonly counters: BatchCounters;
  readonly watermark: number | null;
  readonly emit?: EmitReport;
  /** Why emitting final windows failed; they are emitted by a later batch or the scheduled run. */
  readonly emitError?: string;
}

/**
 * The state-store methods the shard processor (and its window emitter) calls: the aggregate function is
 * granted exactly their permissions (lambdas/aggregate/permissions.ts).
 */
export const SHARD_PROCESSOR_STORE_CALLS = [
  'getShardStates',
  'putShardState',
  'putDeltas',
  'deleteDeltas',
  'queryDeltas',
  'putSideRecords',
  'putOpenWindows',
  'fixRoundCut',
  'listOpenWindows',
  'deleteOpenWindows',
  'getCompacted',
  'putCompacted',
  'raiseCompactedThrough',
  // Anomaly detectors (lambdas/core/anomaly/scoring.ts): the previous window's states, and the anomalies found.
  'getLatestCompacted',
  'getDetectorStates',
  'putAnomalies',
  'getEmittedThrough',
  'raiseEmittedThrough',
  'claimRecordOrigins',
] as const satisfies readonly (keyof StateStore)[];

type Store = Pick<StateStore, (typeof SHARD_PROCESSOR_STORE_CALLS)[number]>;

/**
 * What the emitter may do after each batch: the batch's own work comes first, and what is left waits for
 * the next batch or the scheduled run.
 */
const EMIT_ENTRIES_PER_BATCH = 25;
const EMIT_MS_PER_BATCH = 10_000;
/** Open-window entries this instance remembers having written (it forgets them all past this). */
const REMEMBERED_ENTRIES = 100_000;

export class ShardProcessor {
  private readonly aggregator: BatchAggregator;
  private readonly viewIds: readonly string[];
  private readonly measures: readonly ViewMeasures[];
  private readonly windows: readonly WindowAssigner[];
  private readonly emitter: WindowEmitter;
  private readonly watermarks: WatermarkSettings;
  /** `<view>|<windowStart>` of open-window entries already written: one write per window, not per batch. */
  private readonly entriesWritten = new Set<string>();

  constructor(
    private readonly config: PipelineConfig,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    /** The stream's open shards; unknown ones are registered so they hold the watermark back. */
    private readonly openShards: () => Promise<readonly string[]> = async () => [],
  ) {
    this.aggregator = new BatchAggregator(config);
    this.viewIds = config.views.map(viewIdOf);
    this.measures = config.views.map((v) => new ViewMeasures(v));
    this.windows = config.views.map((v) => windowAssigner(v.window));
    this.emitter = new WindowEmitter(config, store, now);
    this.watermarks = {
      outOfOrdernessMs: config.outOfOrdernessMs,
      idleAfterMs: shardIdleAfterMs(config.idleTimeoutMs),
    };
  }

  /** Applies one batch of one shard: load → plan → apply → emit. */
  async process(shardId: string, batch: readonly BatchRecord[]): Promise<BatchReport> {
    // Load: every shard's progress; records at or below this shard's stored seq were applied already.
    const states = await this.registerShards(await this.store.getShardStates(), shardId);
    const stored = states.find((s) => s.shardId === shardId);
    const records = stored?.seq ? batch.filter((r) => r.seq > stored.seq!) : batch;
    if (records.length === 0) {
      return {
        shardId,
        records: 0,
        skippedRecords: batch.length,
        deltaItems: 0,
        replacedItems: 0,
        counters: emptyCounters(),
        watermark: null,
      };
    }
    const now = this.now();
    const firstSeq = records[0]!.seq;
    const lastSeq = records[records.length - 1]!.seq;
    const started = await this.prepareBatch(shardId, stored, states, lastSeq, now);
    const { unique, duplicates } = await this.dropRepeatedRecords(records);

    // Plan (pure): lateness, dead letters, each group's delta in each pane, packed into delta items.
    const plan = this.aggregator.plan(unique, {
      maxEventTime: started.maxEventTime,
      watermarkFloor: started.watermarkFloor,
    });
    plan.counters.duplicates = duplicates;
    const items = this.pack(this.aggregator.accumulate(plan));
    const intent: DeltaIntent = { firstSeq, keys: deltaKeys(items) };

    // An earlier attempt that did not finish: delete its deltas this attempt does not overwrite.
    const prior = stored?.intent ?? null;
    const stale: DeltaIntent | null =
      prior === null ? null : { firstSeq: prior.firstSeq, keys: staleKeys(prior, intent) };
    if (stale && stale.firstSeq !== firstSeq) await this.store.deleteDeltas(shardId, stale.firstSeq, stale.keys);
    const shard = await this.startBatch(shardId, stored, {
      ...started,
      intent: stale?.firstSeq === firstSeq ? { firstSeq, keys: [...intent.keys, ...stale.keys] } : intent,
    });
    if (shard === null) return this.process(shardId, batch);

    // Apply: side records, open-window entries, the delta items, the shard item last.
    await this.store.putSideRecords('late', shardId, plan.late);
    await this.store.putSideRecords('dead', shardId, plan.deadLetters);
    // Before the deltas: a delta must never exist without an entry telling the emitter to publish its window.
    await this.recordOpenWindows(items);
    await Promise.all(
      this.viewIds.map((viewId, i) => {
        const ofView = items.filter((item) => item.viewId === viewId);
        return ofView.length === 0
          ? undefined
          : this.store.putDeltas(shardId, firstSeq, ofView, this.expiresAtS(i, now));
      }),
    );
    if (stale?.firstSeq === firstSeq && stale.keys.length > 0)
      await this.store.deleteDeltas(shardId, firstSeq, stale.keys);
    const next: ShardState = {
      ...shard,
      seq: lastSeq,
      intent: null,
      maxEventTime: plan.maxEventTime,
      lastActivityMs: now,
      batches: shard.batches + 1,
      counters: addCounters(shard.counters, plan.counters),
    };
    await this.store.putShardState(next, shard.seq, true);

    // Emit: what the pipeline watermark has made final; a failure here is reported, and retried later.
    const others = states.filter((s) => s.shardId !== shardId);
    const emitted = await this.emitter
      .emit(pipelineWatermark([...others, next], now, this.watermarks), {
        entries: EMIT_ENTRIES_PER_BATCH,
        deadline: this.now() + EMIT_MS_PER_BATCH,
      })
      .then(
        (emit) => ({ emit }),
        (err: unknown) => ({ emitError: (err as Error).message }),
      );
    return {
      ...emitted,
      shardId,
      records: records.length,
      skippedRecords: batch.length - records.length,
      deltaItems: items.length,
      replacedItems: stale?.keys.reduce((n, k) => n + k.parts - (k.fromPart ?? 0), 0) ?? 0,
      counters: plan.counters,
      watermark: finiteOrNull(shardWatermark(next, this.config.outOfOrdernessMs)),
    };
  }

  /**
   * Drops records that repeat one already applied: ingest tags the records of a request that carries an
   * Idempotency-Key with (key, part) (record-codec.ts), and a producer that retries after ingest wrote them
   * but died before answering sends the same parts again. The first record of each origin claims it in the
   * store (a conditional write per record, not per event, owned by that record's sequence number); a record
   * whose origin another record owns is a repeat. The claim is deterministic, so a retry or bisection of this
   * batch drops exactly the same records. Returns the records to apply and the number of events dropped.
   */
  private async dropRepeatedRecords(
    records: readonly BatchRecord[],
  ): Promise<{ unique: readonly BatchRecord[]; duplicates: number }> {
    const first = new Map<string, string>();
    for (const r of records) if (r.origin !== undefined && !first.has(r.origin)) first.set(r.origin, r.seq);
    if (first.size === 0) return { unique: records, duplicates: 0 };
    const takenByOthers = await this.store.claimRecordOrigins([...first].map(([origin, seq]) => ({ origin, seq })));
    const unique: BatchRecord[] = [];
    let duplicates = 0;
    for (const r of records) {
      if (r.origin === undefined || (first.get(r.origin) === r.seq && !takenByOthers.has(r.origin))) unique.push(r);
      else duplicates += r.items.length;
    }
    return { unique, duplicates };
  }

  /**
   * Writes a placeholder for each open shard other than this one that has no state yet: an active shard
   * without events holds the pipeline watermark back until it has been idle for the idle timeout, so a
   * shard whose first batch is slow to come cannot find its windows already final.
   */
  private async registerShards(states: ShardState[], self: string): Promise<ShardState[]> {
    const known = new Set(states.map((s) => s.shardId));
    const now = this.now();
    for (const shardId of await this.openShards()) {
      if (known.has(shardId) || shardId === self) continue;
      const placeholder: ShardState = { ...newShardState(shardId), lastActivityMs: now };
      try {
        await this.store.putShardState(placeholder, null, false);
        states.push(placeholder);
      } catch (err) {
        if (!(err instanceof ConcurrentWriteError)) throw err;
        // The shard wrote its own state meanwhile: it is known now.
      }
    }
    return states;
  }

  /** Emits what the pipeline watermark has made final (the scheduled run, when no batch comes along). */
  async emitFinalWindows(budget: EmitBudget): Promise<EmitReport> {
    const states = await this.store.getShardStates();
    return this.emitter.emit(pipelineWatermark(states, this.now(), this.watermarks), budget);
  }

  /**
   * Entries for the windows of the panes this batch writes deltas for, so the emitter publishes them once
   * final. Every batch that touches a window writes the same entry; this instance writes each entry once.
   */
  private async recordOpenWindows(items: readonly DeltaItem[]): Promise<void> {
    if (this.entriesWritten.size > REMEMBERED_ENTRIES) this.entriesWritten.clear();
    await Promise.all(
      this.viewIds.map(async (viewId, viewIndex) => {
        const windows = new Map<string, { windowStart: number; readyAt: number }>();
        for (const item of items) {
          if (item.viewId !== viewId) continue;
          for (const w of this.windows[viewIndex]!.windowsOfPane(item.paneStart)) {
            const id = `${viewId}|${w.windowStart}`;
            if (!this.entriesWritten.has(id)) windows.set(id, w);
          }
        }
        if (windows.size === 0) return;
        await this.store.putOpenWindows(viewId, 'w', [...windows.values()]);
        for (const id of windows.keys()) this.entriesWritten.add(id);
      }),
    );
  }

  /** Each view's deltas, per pane, packed into delta items. */
  private pack(deltas: ReadonlyMap<string, PaneDelta>): DeltaItem[] {
    const byPane = new Map<string, { viewIndex: number; paneStart: number; partials: GroupPartial[] }>();
    for (const delta of deltas.values()) {
      const id = `${delta.viewIndex}|${delta.paneStart}`;
      const pane = byPane.get(id) ?? { viewIndex: delta.viewIndex, paneStart: delta.paneStart, partials: [] };
      pane.partials.push({ groupKey: delta.groupKey, partial: delta });
      byPane.set(id, pane);
    }
    return [...byPane.values()].flatMap((p) =>
      packDeltas(this.measures[p.viewIndex]!, this.viewIds[p.viewIndex]!, p.paneStart, p.partials),
    );
  }

  /** When a view's deltas may go: its retention after the longest a window can wait to be final. */
  private expiresAtS(viewIndex: number, now: number): number {
    const view = this.config.views[viewIndex]!;
    const span = view.window.type === 'session' ? view.window.gapMs : view.window.sizeMs;
    const waitMs = span + this.config.outOfOrdernessMs + this.config.allowedLatenessMs + view.retentionMs;
    return Math.ceil((now + waitMs) / 1000);
  }

  /**
   * The shard's state for this attempt: its lease (`lastActivityMs`: other shards count it active while a
   * batch may run), the last record this attempt covers, and the watermark floor the batch is judged by:
   * - never below the watermark windows were published at (emitted-through): a shard that was not holding
   *   the watermark back when they were published (new, a child after a reshard, registered late, or idle)
   *   cannot change a published window. For a shard that was active all along this changes nothing;
   * - a known shard that was idle also rejoins at the pipeline watermark, which may have made windows final
   *   without it.
   * Not when an earlier attempt at these records is unfinished: a retry must judge every record as that
   * attempt did, or an event could be both in a pane and late. A shard that holds the watermark back from
   * the start (registered before anything was published) keeps its on-time events: when one shard replays a
   * backlog before another's first batch, nothing is published meanwhile.
   */
  private async prepareBatch(
    shardId: string,
    stored: ShardState | undefined,
    states: readonly ShardState[],
    lastSeq: string,
    now: number,
  ): Promise<ShardState> {
    let floor = stored?.watermarkFloor ?? null;
    const unfinished = stored?.attemptedThrough != null && stored.attemptedThrough > (stored.seq ?? '');
    const idle = stored !== undefined && isIdle(stored, now, this.watermarks.idleAfterMs);
    if (!unfinished) {
      const candidates = [await this.store.getEmittedThrough()];
      if (idle)
        candidates.push(
          pipelineWatermark(
            states.filter((s) => s.shardId !== shardId),
            now,
            this.watermarks,
          ),
        );
      const own = stored ? shardWatermark(stored, this.watermarks.outOfOrdernessMs) : Number.NEGATIVE_INFINITY;
      for (const c of candidates) if (c !== null && c > own && c > (floor ?? Number.NEGATIVE_INFINITY)) floor = c;
    }
    const started: ShardState = {
      ...(stored ?? newShardState(shardId)),
      watermarkFloor: floor,
      lastActivityMs: now,
      attemptedThrough:
        stored?.attemptedThrough && stored.attemptedThrough > lastSeq ? stored.attemptedThrough : lastSeq,
    };
    return started;
  }

  /**
   * Stores the attempt's state (see prepareBatch) with its intent, before any effect. Null when another
   * shard registered this one a moment ago (both started at once): the batch starts again from its
   * placeholder.
   */
  private async startBatch(
    shardId: string,
    stored: ShardState | undefined,
    started: ShardState,
  ): Promise<ShardState | null> {
    try {
      await this.store.putShardState(started, stored?.seq ?? null, stored !== undefined);
    } catch (err) {
      if (stored || !(err instanceof ConcurrentWriteError)) throw err;
      const placeholder = (await this.store.getShardStates()).find((s) => s.shardId === shardId);
      if (!placeholder || placeholder.seq !== null) throw err;
      return null;
    }
    return started;
  }
}

/** The keys of `prior` that `next` does not write (a pane and bucket it skips, or parts past its own). */
function staleKeys(prior: DeltaIntent, next: DeltaIntent): DeltaKey[] {
  if (prior.firstSeq !== next.firstSeq) return [...prior.keys];
  const written = new Map(next.keys.map((k) => [`${k.viewId}|${k.paneStart}|${k.bucket}`, k.parts]));
  const stale: DeltaKey[] = [];
  for (const k of prior.keys) {
    const parts = written.get(`${k.viewId}|${k.paneStart}|${k.bucket}`) ?? 0;
    // Parts below `parts` are overwritten by this attempt.
    if (k.parts > parts) stale.push({ ...k, fromPart: Math.max(parts, k.fromPart ?? 0) });
  }
  return stale;
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
