/**
 * Folds one shard's batch of records into pane partials, with event-time lateness decided per record.
 *
 * Determinism is what makes the effect exactly-once: the watermark a record is judged by is the shard's
 * watermark just before that record (max event time of every earlier record of the shard, minus the
 * out-of-orderness), a function of the shard's record sequence alone. However Lambda splits, bisects or
 * retries the batch, every record gets the same verdict, so a retry recomputes exactly what the first
 * attempt wrote (and the shard's intent replaces what that attempt stored: see ShardProcessor).
 */
import type { PipelineConfig, ViewSpec } from './config.ts';
import { MAX_EVENT_TIME, MAX_FUTURE_MS, parseEventTime } from './event-time.ts';
import { type GroupValues, groupKeyOf, groupValue, groupValuesOf, matchesWhere, viewIdOf } from './group.ts';
import type { Count, Extreme, Sum } from './measures/basic.ts';
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

/** What a batch adds to one pane: a partial aggregate (see core/pane.ts). */
export interface PaneDelta extends PanePartial, PaneRef {
  readonly viewIndex: number;
  readonly group: GroupValues;
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

/** A pane the batch touches. */
export interface TouchedPane extends PaneRef {
  readonly viewIndex: number;
  readonly groupKey: string;
  readonly group: GroupValues;
  readonly paneStart: number;
}

/**
 * The events to aggregate and the panes each goes to (one per view it is on time for), as flat arrays: a batch
 * holds tens of thousands of events between planning and accumulating, and one object per event would cost
 * the garbage collector more than aggregating them does. The numbers are in typed arrays, outside the heap the
 * collector copies. Event i goes to panes `paneIds[ends[i-1]..ends[i])`, indexes into `panes`.
 */
interface PlannedEvents {
  readonly events: Event[];
  readonly times: Float64Array;
  readonly ends: Int32Array;
  readonly paneIds: Int32Array;
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
  /** How `accumulate` folds an event into each measure (see FOLD_COUNT…), and the field it reads. */
  readonly folds: Uint8Array;
  readonly fields: ReadonlyArray<string | undefined>;
  readonly windows: WindowAssigner;
  readonly viewId: string;
  /** Index of the view's `where` among the distinct ones: views with the same filter test it once per event. */
  readonly filter: number;
}

/*
 * How `accumulate` folds an event into a measure. Each kind is its own call site, so the calls to the basic
 * measures stay monomorphic and inlined; the one generic `add` site that remains sees few enough classes to
 * stay polymorphic. Count is no call at all: a pane's own count is its count measure.
 */
const FOLD_COUNT = 0;
const FOLD_SUM = 1;
const FOLD_EXTREME = 2;
const FOLD_ADD = 3;

function foldOf(fn: string): number {
  switch (fn) {
    case 'count':
      return FOLD_COUNT;
    case 'sum':
    case 'avg':
      return FOLD_SUM;
    case 'min':
    case 'max':
      return FOLD_EXTREME;
    default:
      return FOLD_ADD;
  }
}

type PlannedPane = TouchedPane & { readonly key: string; readonly id: number };

/**
 * One group of one view in a batch, found from the event's group values without building its key each time:
 * the key (and its length check) is built once per group, and the panes of the group by their start.
 */
interface BatchGroup {
  readonly group: GroupValues;
  readonly groupKey: string;
  readonly keyBytes: number;
  readonly panes: Map<number, PlannedPane>;
  /** The pane its last event went to: events come roughly in time order, so the next one mostly goes there too. */
  lastPane: PlannedPane | undefined;
}

/** The groups of one view met in a batch. */
interface ViewGroups {
  /** By group value (views grouped by one field) or group key (any other number of fields). */
  readonly byValue: Map<string, BatchGroup>;
  /**
   * Views grouped by one field: by a number the field held, whose group value is `String(number)`. Spares
   * the string per event (ids are mostly numbers); SameValueZero keys match `String`, which is one-to-one on
   * numbers but for 0 and -0, the one key 0 here.
   */
  readonly byNumber: Map<number, BatchGroup>;
  /** The null group of a view grouped by one field, or the one group of a view grouped by none. */
  other: BatchGroup | undefined;
}

function batchGroup(group: GroupValues, groupKey = groupKeyOf(group)): BatchGroup {
  return { group, groupKey, keyBytes: Buffer.byteLength(groupKey), panes: new Map(), lastPane: undefined };
}

export class BatchAggregator {
  private readonly views: readonly CompiledView[];
  /** The distinct `where` filters of the views. */
  private readonly filters: ReadonlyArray<ViewSpec['where']>;
  /** Per event being admitted: whether it passes each filter. */
  private readonly passes: boolean[];
  /** Per event being admitted: its group in each view, or null for a view it does not match. */
  private readonly eventGroups: Array<BatchGroup | null>;
  /** The time of the event last admitted (a field, not a return value: a number returned would be boxed). */
  private admittedTime = 0;

  constructor(private readonly config: PipelineConfig) {
    const filterIds = new Map<string, number>();
    const filters: Array<ViewSpec['where']> = [];
    this.views = config.views.map((spec, index) => {
      const text = JSON.stringify(spec.where);
      let filter = filterIds.get(text);
      if (filter === undefined) {
        filter = filters.push(spec.where) - 1;
        filterIds.set(text, filter);
      }
      return {
        spec,
        index,
        measures: spec.measures.map(createMeasure),
        folds: Uint8Array.from(spec.measures, (m) => foldOf(m.fn)),
        fields: spec.measures.map((m) => ('field' in m ? m.field : undefined)),
        windows: windowAssigner(spec.window),
        viewId: viewIdOf(spec),
        filter,
      };
    });
    this.filters = filters;
    this.passes = filters.map(() => false);
    this.eventGroups = this.views.map(() => null);
  }

  /** Plans the batch (see BatchPlan). */
  plan(records: readonly BatchRecord[], progress: ShardProgress): BatchPlan {
    const { outOfOrdernessMs, allowedLatenessMs } = this.config;
    const views = this.views;
    const groups = this.eventGroups;
    const batchGroups: ViewGroups[] = views.map(() => ({ byValue: new Map(), byNumber: new Map(), other: undefined }));
    const touched = new Map<string, PlannedPane>();
    let items = 0;
    for (const record of records) items += record.items.length;
    const events: Event[] = [];
    const times = new Float64Array(items);
    const ends = new Int32Array(items);
    // One pane per event to start with; grown as events go to more.
    let paneIds: Int32Array<ArrayBuffer> = new Int32Array(items + 16);
    let paneCount = 0;
    const panes: PlannedPane[] = [];
    const late: SideRecord[] = [];
    const deadLetters: SideRecord[] = [];
    const counters = emptyCounters();
    let maxEventTime = progress.maxEventTime;

    for (let r = 0; r < records.length; r++) {
      const record = records[r]!;
      const watermark = shardWatermark({ maxEventTime, watermarkFloor: progress.watermarkFloor }, outOfOrdernessMs);
      const lateEntries: SideEntry[] = [];
      const deadEntries: SideEntry[] = [];
      let recordMax = Number.NEGATIVE_INFINITY;
      if (record.error) deadEntries.push({ index: -1, reason: record.error, event: null });

      for (const item of record.items) {
        const dead = this.admit(item, record.arrivalMs, batchGroups);
        if (dead) {
          deadEntries.push(dead);
          continue;
        }
        const event = (item as { readonly value: Event }).value;
        const time = this.admittedTime;
        counters.processed++;
        const bounded = boundedEventTime(time, record.arrivalMs, outOfOrdernessMs);
        if (bounded > recordMax) recordMax = bounded;
        let eventLate = false;
        const first = paneCount;
        if (paneIds.length - paneCount < views.length) paneIds = grown(paneIds);
        for (let v = 0; v < views.length; v++) {
          const group = groups[v];
          if (!group) continue;
          const view = views[v]!;
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
            continue;
          }
          const paneStart = view.windows.paneOf(time);
          let pane = group.lastPane;
          if (pane === undefined || pane.paneStart !== paneStart) {
            pane = group.panes.get(paneStart);
            if (pane === undefined) {
              pane = touch(touched, panes, view, group, paneStart);
              group.panes.set(paneStart, pane);
            }
            group.lastPane = pane;
          }
          paneIds[paneCount++] = pane.id;
        }
        if (eventLate) counters.late++;
        if (paneCount > first) {
          const i = events.length;
          events.push(event);
          times[i] = time;
          ends[i] = paneCount;
        }
      }

      counters.deadLettered += deadEntries.length;
      if (lateEntries.length > 0) late.push({ seq: record.seq, arrivalMs: record.arrivalMs, entries: lateEntries });
      if (deadEntries.length > 0)
        deadLetters.push({ seq: record.seq, arrivalMs: record.arrivalMs, entries: deadEntries });
      // The watermark moves only between records, so every event of a record is judged by the same one.
      if (recordMax > (maxEventTime ?? Number.NEGATIVE_INFINITY)) maxEventTime = recordMax;
    }
    const n = events.length;
    const planned: PlannedEvents = {
      events,
      times: times.subarray(0, n),
      ends: ends.subarray(0, n),
      paneIds: paneIds.subarray(0, paneCount),
      panes,
    };
    return { touched, planned, late, deadLetters, counters, maxEventTime };
  }

  /**
   * Folds the planned events into one delta per pane, once.
   *
   * View by view, each view's events in batch order: every pane gets the same folds in the same order as event
   * by event, but the state of a view with few panes stays in cache while the events stream past it, and each
   * pass reads the events in the order they lie in memory. Event by event, every event reached the state of
   * six views in turn, and waiting on memory was most of the time.
   */
  accumulate(plan: BatchPlan): Map<string, PaneDelta> {
    const { events, times, ends, paneIds, panes: touched } = plan.planned;
    const deltas: Array<PaneDelta | undefined> = new Array(touched.length);
    const deltaViews: CompiledView[] = new Array(touched.length);
    // The touches (event i goes to pane id) ordered by view, then event: a stable counting sort.
    const viewOfPane = Int32Array.from(touched, (p) => p.viewIndex);
    const starts = new Int32Array(this.views.length + 1);
    for (let j = 0; j < paneIds.length; j++) starts[viewOfPane[paneIds[j]!]! + 1]!++;
    for (let v = 0; v < this.views.length; v++) starts[v + 1]! += starts[v]!;
    const touchEvent = new Int32Array(paneIds.length);
    const touchPane = new Int32Array(paneIds.length);
    for (let i = 0, j = 0; i < events.length; i++) {
      for (const end = ends[i]!; j < end; j++) {
        const id = paneIds[j]!;
        const k = starts[viewOfPane[id]!]!++;
        touchEvent[k] = i;
        touchPane[k] = id;
      }
    }
    for (let k = 0; k < touchPane.length; k++) {
      const i = touchEvent[k]!;
      const event = events[i]!;
      const time = times[i]!;
      const id = touchPane[k]!;
      let pane = deltas[id];
      let view: CompiledView;
      if (!pane) {
        const { viewIndex, viewId, groupKey, group, paneStart } = touched[id]!;
        view = this.views[viewIndex]!;
        pane = {
          viewIndex,
          viewId,
          groupKey,
          group,
          paneStart,
          accumulators: view.measures.map((m) => m.create()),
          count: 0,
          minTime: time,
          maxTime: time,
        };
        deltas[id] = pane;
        deltaViews[id] = view;
      } else view = deltaViews[id]!;
      const accumulators = pane.accumulators;
      const { folds, fields } = view;
      // The numeric measures of a view mostly read one field: read once for all of them.
      let field: string | undefined;
      let value: unknown;
      for (let a = 0; a < accumulators.length; a++) {
        const fold = folds[a]!;
        if (fold === FOLD_COUNT) continue;
        if (fold === FOLD_ADD) {
          accumulators[a]!.add(event);
          continue;
        }
        if (fields[a] !== field) {
          field = fields[a]!;
          value = event[field];
        }
        // numericValue, as Sum and Extreme read it in `add`.
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        if (fold === FOLD_SUM) (accumulators[a] as Sum).addValue(value, 1);
        else (accumulators[a] as Extreme).offer(value);
      }
      pane.count++;
      if (time < pane.minTime) pane.minTime = time;
      if (time > pane.maxTime) pane.maxTime = time;
    }
    const panes = new Map<string, PaneDelta>();
    deltas.forEach((delta, id) => {
      if (!delta) return;
      const { folds } = deltaViews[id]!;
      for (let a = 0; a < folds.length; a++) {
        if (folds[a] === FOLD_COUNT) (delta.accumulators[a] as Count).n = delta.count;
      }
      panes.set(touched[id]!.key, delta);
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
   * Reads one item of a record into what aggregating it needs, its time in `admittedTime` and its group in each
   * view in `eventGroups` (null where it does not match), or returns the dead letter it becomes. Never throws: an item that makes anything here
   * throw is set aside with the error as its reason, so one bad event cannot fail its batch for ever. Nothing
   * a batch writes is changed before the item is admitted, so a dead letter leaves no trace in panes (the
   * groups it looked up hold no panes until an event is planned into them).
   */
  private admit(item: DecodedItem, arrivalMs: number, batchGroups: readonly ViewGroups[]): SideEntry | undefined {
    const { eventTimeField } = this.config;
    if ('error' in item) return { index: item.index, reason: item.error, event: null };
    const value = item.value;
    try {
      // First: side records, group values and kept fields are written as JSON, which overflows the stack on a
      // deeply nested value.
      if (mayBeTooDeep(value) && isTooDeep(value)) {
        return {
          index: item.index,
          reason: `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`,
          event: OMITTED_TOO_DEEP,
        };
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { index: item.index, reason: 'event is not a JSON object', event: value };
      }
      const event = value as Event;
      const raw = event[eventTimeField];
      let time: number;
      // Epoch milliseconds in range, read as parseEventTime reads them without its result object per event.
      if (typeof raw === 'number' && raw >= 0 && raw <= MAX_EVENT_TIME) time = Math.floor(raw);
      else {
        const parsed = parseEventTime(raw, eventTimeField);
        if (!parsed.ok) return { index: item.index, reason: parsed.error, event };
        time = parsed.time;
      }
      // Arrival time bounds how far ahead an event may claim to be, as ingest does with its clock.
      if (time > arrivalMs + MAX_FUTURE_MS) {
        return {
          index: item.index,
          reason: `event time ${new Date(time).toISOString()} is more than 1 hour after the record arrived (${new Date(arrivalMs).toISOString()})`,
          event,
        };
      }
      const { views, filters, passes, eventGroups } = this;
      for (let f = 0; f < filters.length; f++) passes[f] = matchesWhere(event, filters[f]!);
      for (let v = 0; v < views.length; v++) {
        const view = views[v]!;
        eventGroups[v] = passes[view.filter] ? groupOf(event, view.spec.groupBy, batchGroups[v]!) : null;
      }
      for (let v = 0; v < views.length; v++) {
        const group = eventGroups[v];
        if (group && group.keyBytes > MAX_GROUP_KEY_BYTES) {
          return {
            index: item.index,
            view: views[v]!.spec.name,
            reason: `group ${group.groupKey.slice(0, 80)}… is ${group.keyBytes} bytes; group values may take at most ${MAX_GROUP_KEY_BYTES} bytes together`,
            event,
          };
        }
      }
      this.admittedTime = time;
      return undefined;
    } catch (err) {
      return {
        index: item.index,
        reason: `event cannot be aggregated: ${(err as Error).message}`,
        event: plainCopy(value),
      };
    }
  }
}

/**
 * False when `value` is surely not nested too deeply: a primitive, or an object none of whose fields is an
 * object or array (most events). Reads the fields as `isTooDeep` would, so a field that throws throws here.
 */
function mayBeTooDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const fields = value as Record<string, unknown>;
  for (const name in fields) {
    const field = fields[name];
    if (typeof field === 'object' && field !== null) return true;
  }
  return false;
}

function groupOfValue(value: string, groups: ViewGroups): BatchGroup {
  let group = groups.byValue.get(value);
  if (group === undefined) {
    group = batchGroup([value]);
    groups.byValue.set(value, group);
  }
  return group;
}

/** The event's group in a view grouped by `groupBy`, among those the batch met so far (added if new). */
function groupOf(event: Event, groupBy: readonly string[], groups: ViewGroups): BatchGroup {
  if (groupBy.length === 1) {
    const raw = event[groupBy[0]!];
    if (typeof raw === 'number') {
      let group = groups.byNumber.get(raw);
      if (group === undefined) {
        group = groupOfValue(String(raw), groups);
        groups.byNumber.set(raw, group);
      }
      return group;
    }
    const value = typeof raw === 'string' ? raw : groupValue(raw);
    if (value === null) {
      groups.other ??= batchGroup([null]);
      return groups.other;
    }
    return groupOfValue(value, groups);
  }
  if (groupBy.length === 0) {
    groups.other ??= batchGroup([]);
    return groups.other;
  }
  const values = groupValuesOf(event, groupBy);
  const key = groupKeyOf(values);
  let group = groups.byValue.get(key);
  if (group === undefined) {
    group = batchGroup(values, key);
    groups.byValue.set(key, group);
  }
  return group;
}

/** The pane of `group` at `paneStart`: numbered in the order panes are first touched. */
function touch(
  touched: Map<string, PlannedPane>,
  panes: PlannedPane[],
  view: CompiledView,
  group: BatchGroup,
  paneStart: number,
): PlannedPane {
  const key = paneKey({ viewId: view.viewId, groupKey: group.groupKey, paneStart });
  // Only views of one name share a key, and names are unique: found here only for a config made by hand.
  let pane = touched.get(key);
  if (!pane) {
    pane = {
      key,
      id: panes.length,
      viewIndex: view.index,
      viewId: view.viewId,
      groupKey: group.groupKey,
      group: group.group,
      paneStart,
    };
    touched.set(key, pane);
    panes.push(pane);
  }
  return pane;
}

/** Twice the room, the same contents. */
function grown(array: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
