/**
 * Folds one shard's batch of records into pane partials, with event-time lateness decided per record.
 *
 * Determinism is what makes the effect exactly-once: the watermark a record is judged by is the shard's
 * watermark just before that record (max event time of every earlier record of the shard, minus the
 * out-of-orderness), a function of the shard's record sequence alone. However Lambda splits, bisects or
 * retries the batch, every record gets the same verdict, so a retry recomputes exactly what the first
 * attempt wrote, and the per-item sequence numbers let the store skip what was already applied.
 */
import type { PipelineConfig, ViewSpec } from './config.ts';
import { MAX_FUTURE_MS, parseEventTime } from './event-time.ts';
import { type GroupValues, groupKeyOf, groupValuesOf, matchesWhere, viewIdOf } from './group.ts';
import { createMeasure, type Event, type Measure } from './measures/index.ts';
import { boundedJson, isTooDeep, MAX_NESTING_DEPTH, OMITTED_TOO_DEEP } from './nesting.ts';
import { type PanePartial, type PaneRef, paneKey } from './pane.ts';
import type { DecodedItem } from './record-codec.ts';
import { boundedEventTime, type ShardProgress, shardWatermark } from './watermark.ts';
import { isFinal, type WindowAssigner, windowAssigner } from './windows/index.ts';

/** A record of the batch, decoded. `seq` is the shard sequence number padded to a fixed width (it sorts). */
export interface BatchRecord {
  readonly seq: string;
  /** The record's identity as ingest wrote it for a keyed request (see record-codec.ts), if any. */
  readonly origin?: string;
  readonly arrivalMs: number;
  readonly items: readonly DecodedItem[];
  /** Why the record as a whole could not be read. */
  readonly error?: string;
}

export function emptyCounters(): BatchCounters {
  return { processed: 0, late: 0, lateByView: {}, deadLettered: 0, duplicates: 0 };
}

/** The counters of two batches (or of a shard and a batch) together. */
export function addCounters(a: BatchCounters, b: BatchCounters): BatchCounters {
  const lateByView = { ...a.lateByView };
  for (const [view, n] of Object.entries(b.lateByView)) lateByView[view] = (lateByView[view] ?? 0) + n;
  return {
    processed: a.processed + b.processed,
    late: a.late + b.late,
    deadLettered: a.deadLettered + b.deadLettered,
    duplicates: a.duplicates + b.duplicates,
    lateByView,
  };
}

/** What a batch adds to one pane: a partial aggregate (see core/pane.ts) and the records it comes from. */
export interface PaneDelta extends PanePartial, PaneRef {
  readonly viewIndex: number;
  readonly group: GroupValues;
  /** Sequence numbers of the first and last record that touched this pane in the batch. */
  firstSeq: string;
  lastSeq: string;
}

/** An event set aside: late for a view, or unreadable. */
export interface SideEntry {
  /** Position of the event inside its record (-1: the whole record). */
  readonly index: number;
  readonly view?: string;
  readonly reason: string;
  readonly event: unknown;
}

/** Side entries of one record: stored under the record's sequence number, so a retry rewrites the same item. */
export interface SideRecord {
  readonly seq: string;
  readonly arrivalMs: number;
  readonly entries: SideEntry[];
}

export interface BatchCounters {
  /** Valid events read (aggregated, or late in some view). */
  processed: number;
  /** Events late in at least one view they matched. */
  late: number;
  lateByView: Record<string, number>;
  /** Events (or whole records) that could not be read, set aside with the reason. */
  deadLettered: number;
  /**
   * Events of records dropped as repeats: a producer retried a request with the same Idempotency-Key after
   * ingest had written its records but died before answering (see ShardProcessor.dropRepeatedRecords).
   */
  duplicates: number;
}

/** A pane the batch touches: which one, and the first record that touches it. */
export interface TouchedPane extends PaneRef {
  readonly viewIndex: number;
  readonly groupKey: string;
  readonly group: GroupValues;
  readonly paneStart: number;
  readonly firstSeq: string;
}

/**
 * The events to aggregate and the panes each goes to (one per view it is on time for), as flat arrays: a batch
 * holds tens of thousands of events between planning and accumulating, and one object per event would cost
 * the garbage collector more than aggregating them does. Event i goes to panes `paneIds[ends[i-1]..ends[i])`,
 * indexes into `panes`.
 */
interface PlannedEvents {
  readonly events: Event[];
  readonly times: number[];
  readonly seqs: string[];
  readonly ends: number[];
  readonly paneIds: number[];
  readonly panes: Array<TouchedPane & { readonly key: string }>;
}

/**
 * Everything a batch decides before anything is read or written: which events are dead letters, which are
 * late in which view, which panes the others go to, the counters and the shard's new maximum event time.
 * Deterministic: a retry or a bisected half of the batch plans every record as the first attempt did.
 */
export interface BatchPlan {
  readonly touched: ReadonlyMap<string, TouchedPane>;
  readonly late: SideRecord[];
  readonly deadLetters: SideRecord[];
  readonly counters: BatchCounters;
  readonly maxEventTime: number | null;
  /** @internal what `accumulate` folds */
  readonly planned: PlannedEvents;
}

export interface BatchResult extends Omit<BatchPlan, 'planned'> {
  readonly panes: Map<string, PaneDelta>;
}

/**
 * Group keys are part of DynamoDB keys (sort keys are at most 1 KB): an event whose group values are longer
 * together is set aside rather than left to fail its batch for ever.
 */
export const MAX_GROUP_KEY_BYTES = 512;

/** The event as plain JSON data the side output can store, or null when even copying it throws. */
function plainCopy(value: unknown): unknown {
  try {
    return JSON.parse(boundedJson(value)) as unknown;
  } catch {
    return null;
  }
}

interface CompiledView {
  readonly spec: ViewSpec;
  readonly index: number;
  readonly measures: readonly Measure[];
  readonly windows: WindowAssigner;
  readonly viewId: string;
}

/** An event ready to aggregate: its time, the views it matches, and its group in each of them. */
interface Admitted {
  readonly event: Event;
  readonly time: number;
  readonly matching: readonly CompiledView[];
  readonly groups: readonly GroupValues[];
  readonly keys: readonly string[];
}

export class BatchAggregator {
  private readonly views: readonly CompiledView[];

  constructor(private readonly config: PipelineConfig) {
    this.views = config.views.map((spec, index) => ({
      spec,
      index,
      measures: spec.measures.map(createMeasure),
      windows: windowAssigner(spec.window),
      viewId: viewIdOf(spec),
    }));
  }

  /** Plans the batch (see BatchPlan). */
  plan(records: readonly BatchRecord[], progress: ShardProgress): BatchPlan {
    const { outOfOrdernessMs, allowedLatenessMs } = this.config;
    const touched = new Map<string, TouchedPane & { readonly key: string; readonly id: number }>();
    const planned: PlannedEvents = { events: [], times: [], seqs: [], ends: [], paneIds: [], panes: [] };
    const late: SideRecord[] = [];
    const deadLetters: SideRecord[] = [];
    const counters = emptyCounters();
    let maxEventTime = progress.maxEventTime;

    for (const record of records) {
      const watermark = shardWatermark({ maxEventTime, watermarkFloor: progress.watermarkFloor }, outOfOrdernessMs);
      const lateEntries: SideEntry[] = [];
      const deadEntries: SideEntry[] = [];
      let recordMax = Number.NEGATIVE_INFINITY;
      if (record.error) deadEntries.push({ index: -1, reason: record.error, event: null });

      for (const item of record.items) {
        const admitted = this.admit(item, record.arrivalMs);
        if ('dead' in admitted) {
          deadEntries.push(admitted.dead);
          continue;
        }
        const { event, time, matching, groups, keys } = admitted;
        counters.processed++;
        const bounded = boundedEventTime(time, record.arrivalMs, outOfOrdernessMs);
        if (bounded > recordMax) recordMax = bounded;
        let eventLate = false;
        const first = planned.paneIds.length;
        matching.forEach((view, v) => {
          const end = view.windows.earliestWindowEnd(time);
          if (isFinal(end, watermark, allowedLatenessMs)) {
            eventLate = true;
            counters.lateByView[view.spec.name] = (counters.lateByView[view.spec.name] ?? 0) + 1;
            lateEntries.push({
              index: item.index,
              view: view.spec.name,
              reason: `event time ${new Date(time).toISOString()} is in a window that was final at watermark ${new Date(watermark).toISOString()} (window end ${new Date(end).toISOString()} + allowed lateness ${allowedLatenessMs} ms)`,
              event,
            });
            return;
          }
          const paneStart = view.windows.paneOf(time);
          const key = paneKey({ viewId: view.viewId, groupKey: keys[v]!, paneStart });
          let pane = touched.get(key);
          if (!pane) {
            pane = {
              key,
              id: planned.panes.length,
              viewIndex: view.index,
              viewId: view.viewId,
              groupKey: keys[v]!,
              group: groups[v]!,
              paneStart,
              firstSeq: record.seq,
            };
            touched.set(key, pane);
            planned.panes.push(pane);
          }
          planned.paneIds.push(pane.id);
        });
        if (eventLate) counters.late++;
        if (planned.paneIds.length > first) {
          planned.events.push(event);
          planned.times.push(time);
          planned.seqs.push(record.seq);
          planned.ends.push(planned.paneIds.length);
        }
      }

      counters.deadLettered += deadEntries.length;
      if (lateEntries.length > 0) late.push({ seq: record.seq, arrivalMs: record.arrivalMs, entries: lateEntries });
      if (deadEntries.length > 0)
        deadLetters.push({ seq: record.seq, arrivalMs: record.arrivalMs, entries: deadEntries });
      // The watermark moves only between records, so every event of a record is judged by the same one.
      if (recordMax > (maxEventTime ?? Number.NEGATIVE_INFINITY)) maxEventTime = recordMax;
    }
    return { touched, planned, late, deadLetters, counters, maxEventTime };
  }

  /**
   * Folds the planned events into one delta per pane, once. `appliedThrough` gives, for a pane a failed attempt
   * of this batch already wrote, the sequence number of the last record stored in it: records up to it are
   * left out of that pane (they are in it already). A pane left with nothing to add has no delta.
   */
  accumulate(plan: BatchPlan, appliedThrough: ReadonlyMap<string, string> = new Map()): Map<string, PaneDelta> {
    const { events, times, seqs, ends, paneIds, panes: touched } = plan.planned;
    const applied: Array<string | undefined> = touched.map((p) => appliedThrough.get(p.key));
    const deltas: Array<PaneDelta | undefined> = new Array(touched.length);
    let j = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const time = times[i]!;
      const seq = seqs[i]!;
      for (const end = ends[i]!; j < end; j++) {
        const id = paneIds[j]!;
        const after = applied[id];
        if (after !== undefined && seq <= after) continue;
        let pane = deltas[id];
        if (!pane) {
          const { viewIndex, viewId, groupKey, group, paneStart } = touched[id]!;
          pane = {
            viewIndex,
            viewId,
            groupKey,
            group,
            paneStart,
            accumulators: this.views[viewIndex]!.measures.map((m) => m.create()),
            count: 0,
            minTime: time,
            maxTime: time,
            firstSeq: seq,
            lastSeq: seq,
          };
          deltas[id] = pane;
        }
        for (const acc of pane.accumulators) acc.add(event);
        pane.count++;
        if (time < pane.minTime) pane.minTime = time;
        if (time > pane.maxTime) pane.maxTime = time;
        pane.lastSeq = seq;
      }
    }
    const panes = new Map<string, PaneDelta>();
    deltas.forEach((delta, id) => {
      if (delta) panes.set(touched[id]!.key, delta);
    });
    return panes;
  }

  /** Plans and accumulates in one go, for a batch nothing of which is stored yet (benches, tests). */
  aggregate(records: readonly BatchRecord[], progress: ShardProgress): BatchResult {
    const plan = this.plan(records, progress);
    const { planned: _, ...decided } = plan;
    return { ...decided, panes: this.accumulate(plan) };
  }

  /**
   * Reads one item of a record into what aggregating it needs, or the dead letter it becomes. Never throws: an
   * item that makes anything here throw is set aside with the error as its reason, so one bad event cannot fail
   * its batch for ever. Nothing is changed before the item is admitted, so a dead letter leaves no trace in panes.
   */
  private admit(item: DecodedItem, arrivalMs: number): Admitted | { readonly dead: SideEntry } {
    const { eventTimeField } = this.config;
    if ('error' in item) return { dead: { index: item.index, reason: item.error, event: null } };
    const value = item.value;
    try {
      // First: side records, group values and kept fields are written as JSON, which overflows the stack on a
      // deeply nested value.
      if (isTooDeep(value)) {
        return {
          dead: {
            index: item.index,
            reason: `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`,
            event: OMITTED_TOO_DEEP,
          },
        };
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { dead: { index: item.index, reason: 'event is not a JSON object', event: value } };
      }
      const event = value as Event;
      const parsed = parseEventTime(event[eventTimeField], eventTimeField);
      if (!parsed.ok) return { dead: { index: item.index, reason: parsed.error, event } };
      const time = parsed.time;
      // Arrival time bounds how far ahead an event may claim to be, as ingest does with its clock.
      if (time > arrivalMs + MAX_FUTURE_MS) {
        return {
          dead: {
            index: item.index,
            reason: `event time ${new Date(time).toISOString()} is more than 1 hour after the record arrived (${new Date(arrivalMs).toISOString()})`,
            event,
          },
        };
      }
      const matching = this.views.filter((view) => matchesWhere(event, view.spec.where));
      const groups = matching.map((view) => groupValuesOf(event, view.spec.groupBy));
      const keys = groups.map(groupKeyOf);
      const tooLong = keys.findIndex((key) => Buffer.byteLength(key) > MAX_GROUP_KEY_BYTES);
      if (tooLong >= 0) {
        return {
          dead: {
            index: item.index,
            view: matching[tooLong]!.spec.name,
            reason: `group ${keys[tooLong]!.slice(0, 80)}… is ${Buffer.byteLength(keys[tooLong]!)} bytes; group values may take at most ${MAX_GROUP_KEY_BYTES} bytes together`,
            event,
          },
        };
      }
      return { event, time, matching, groups, keys };
    } catch (err) {
      return {
        dead: {
          index: item.index,
          reason: `event cannot be aggregated: ${(err as Error).message}`,
          event: plainCopy(value),
        },
      };
    }
  }
}
