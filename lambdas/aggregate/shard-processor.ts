/**
 * Applies one Lambda batch of one shard to the state store, with exactly-once effect.
 *
 * 1. Read every shard's progress. Records at or below this shard's stored `seq` were fully applied by an
 *    earlier attempt: skip them. (The shard item is written last, so its `seq` means "everything up to here".)
 * 2. Store the shard's lease and the records this attempt covers, and fix the watermark floor the batch is
 *    judged by (see startBatch), before any effect.
 * 3. Aggregate the batch into pane deltas; lateness is decided per record by the shard's own watermark.
 * 4. Read the touched panes. A pane whose stored `seq` is at or past the first record that touched it was
 *    partly written by a failed attempt: recompute its delta from the records after its `seq` only.
 * 5. Write side records (late, dead letters), the entries of panes this batch creates (for the emitter), each
 *    pane once (conditional on its `seq`), then the shard item with the new counters and watermark. Any
 *    failure throws, and Lambda retries the batch.
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
  type TouchedPane,
} from '../core/batch-aggregator.ts';
import type { PipelineConfig } from '../core/config.ts';
import { type GroupValues, viewIdOf } from '../core/group.ts';
import { ViewMeasures } from '../core/pane.ts';
import {
  ConcurrentWriteError,
  newShardState,
  type ShardState,
  type StateStore,
  type StoredPane,
} from '../core/store.ts';
import { isIdle, pipelineWatermark, shardWatermark, type WatermarkSettings } from '../core/watermark.ts';
import { type WindowAssigner, windowAssigner } from '../core/windows/index.ts';
import { type EmitBudget, type EmitReport, WindowEmitter } from './window-emitter.ts';

export interface BatchReport {
  readonly shardId: string;
  readonly records: number;
  readonly skippedRecords: number;
  readonly paneWrites: number;
  readonly redonePanes: number;
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
  'getPanes',
  'putPanes',
  'putSideRecords',
  'putOpenWindows',
  'queryPanes',
  'listOpenWindows',
  'deleteOpenWindows',
  'putEmitted',
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

export class ShardProcessor {
  private readonly aggregator: BatchAggregator;
  private readonly viewIds: readonly string[];
  private readonly measures: readonly ViewMeasures[];
  private readonly windows: readonly WindowAssigner[];
  private readonly emitter: WindowEmitter;
  private readonly watermarks: WatermarkSettings;

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
        paneWrites: 0,
        redonePanes: 0,
        counters: emptyCounters(),
        watermark: null,
      };
    }
    const now = this.now();
    const lastSeq = records[records.length - 1]!.seq;
    const shard = await this.startBatch(shardId, stored, states, lastSeq, now);
    const { unique, duplicates } = await this.dropRepeatedRecords(records);

    // Plan (pure): lateness, dead letters, the panes each event goes to.
    const plan = this.aggregator.plan(unique, {
      maxEventTime: shard.maxEventTime,
      watermarkFloor: shard.watermarkFloor,
    });
    plan.counters.duplicates = duplicates;
    const touched = [...plan.touched];
    const current = await this.store.getPanes(
      shardId,
      touched.map(([, t]) => t),
    );
    // Panes a failed attempt of this batch already wrote (partly or wholly): their records up to the stored
    // seq are in them already; only the records after it are added (partial redo).
    const appliedThrough = new Map<string, string>();
    for (const [key, t] of touched) {
      const existing = current.get(key);
      if (existing && existing.seq >= t.firstSeq) appliedThrough.set(key, existing.seq);
    }
    const deltas = this.aggregator.accumulate(plan, appliedThrough);

    // Apply: side records, open-window entries, each pane once (conditional on its seq), the shard item last.
    await this.store.putSideRecords('late', shardId, plan.late);
    await this.store.putSideRecords('dead', shardId, plan.deadLetters);
    // Panes this batch creates, and those a failed attempt of it created (even if wholly written then): a
    // retry rewrites the same open-window entries (same keys), so they must list everything the first did.
    // Before the panes: a pane must never exist without an entry telling the emitter to publish its windows.
    const opened = touched.filter(([key]) => appliedThrough.has(key) || !current.has(key));
    await this.recordOpenWindows(
      shardId,
      lastSeq,
      opened.map(([, t]) => t),
    );
    const writes = [...deltas].map(([key, delta]) => {
      const existing = current.get(key);
      return { pane: this.mergeInto(shardId, delta, existing), expectedSeq: existing?.seq ?? null };
    });
    await this.store.putPanes(writes);
    const next: ShardState = {
      ...shard,
      seq: lastSeq,
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
      paneWrites: writes.length,
      redonePanes: appliedThrough.size,
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

  /** Entries for the windows of the panes this batch creates, so the emitter publishes them once final. */
  private async recordOpenWindows(shardId: string, seq: string, created: readonly TouchedPane[]): Promise<void> {
    for (const [viewIndex, viewId] of this.viewIds.entries()) {
      if (!this.config.views[viewIndex]!.emit) continue;
      const windows = new Map<number, { windowStart: number; readyAt: number; groups: Map<string, GroupValues> }>();
      for (const d of created) {
        if (d.viewIndex !== viewIndex) continue;
        for (const w of this.windows[viewIndex]!.windowsOfPane(d.paneStart)) {
          const entry = windows.get(w.windowStart) ?? { ...w, groups: new Map<string, GroupValues>() };
          entry.groups.set(d.groupKey, d.group);
          windows.set(w.windowStart, entry);
        }
      }
      if (windows.size === 0) continue;
      const entries = [...windows.values()].map((w) => ({
        windowStart: w.windowStart,
        readyAt: w.readyAt,
        groups: [...w.groups].map(([groupKey, group]) => ({ groupKey, group })),
      }));
      await this.store.putOpenWindows(viewId, `${shardId}|${seq}`, entries);
    }
  }

  /**
   * Before any effect, stores the shard's lease (`lastActivityMs`: other shards count it active while a batch
   * may run) and the last record this attempt covers, and decides the watermark floor the batch is judged by:
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
  private async startBatch(
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
    try {
      await this.store.putShardState(started, stored?.seq ?? null, stored !== undefined);
    } catch (err) {
      // Another shard registered this one a moment ago (both start at once): start from its placeholder.
      const placeholder = (await this.store.getShardStates()).find((s) => s.shardId === shardId);
      if (stored || !(err instanceof ConcurrentWriteError) || !placeholder || placeholder.seq !== null) throw err;
      return this.startBatch(shardId, placeholder, states, lastSeq, now);
    }
    return started;
  }

  private mergeInto(shardId: string, delta: PaneDelta, existing: StoredPane | undefined): StoredPane {
    const measures = this.measures[delta.viewIndex]!;
    // The delta is a partial: the stored one merges into it.
    if (existing) {
      measures.merge(delta, measures.decode(existing.count, existing.minTime, existing.maxTime, existing.partials));
    }
    return {
      viewId: delta.viewId,
      groupKey: delta.groupKey,
      paneStart: delta.paneStart,
      shardId,
      group: delta.group,
      seq: delta.lastSeq,
      count: delta.count,
      minTime: delta.minTime,
      maxTime: delta.maxTime,
      partials: measures.encode(delta),
    };
  }
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
