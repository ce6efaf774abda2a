/**
 * What each view should report for the events a smoke run sent, computed directly from the events with the
 * semantics the README documents (epoch-aligned windows, sessions of events less than a gap apart, SQL
 * measures). Written apart from lambdas/core on purpose: a check that reused the pipeline's own windowing and
 * measures would agree with the pipeline's bugs.
 */
import type { MeasureSpec, ViewSpec } from '../../lambdas/core/config.ts';
import type { SentEvent } from './events.ts';

export type GroupValues = ReadonlyArray<string | null>;

export interface ExpectedWindow {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  /** Events of the run's data (not ticks) in the window: only windows with some are checked. */
  readonly dataEvents: number;
  /** Expected value of each measure, by result name, in the shape the API returns. */
  readonly measures: Record<string, unknown>;
  /** Exact quantile values (`quantiles_<field>` → q → value): the API's are within the sketch's accuracy. */
  readonly quantiles: Record<string, Record<string, number | null>>;
  /** Event times of the run's data events in it (for matching a session that other traffic widened). */
  readonly dataTimes: readonly number[];
}

export interface ExpectedGroup {
  readonly values: GroupValues;
  /** Windows that hold data events, ascending by start. */
  readonly windows: readonly ExpectedWindow[];
}

/** Categorical values compare by their first 128 characters, as the API documents. */
const MAX_CATEGORICAL_CHARS = 128;

function matches(view: ViewSpec, event: Readonly<Record<string, unknown>>): boolean {
  return view.where.every(([field, value]) => event[field] === value);
}

function groupValue(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function numeric(event: Readonly<Record<string, unknown>>, field: string): number | undefined {
  const v = event[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function categorical(event: Readonly<Record<string, unknown>>, field: string): string | undefined {
  const v = event[field];
  if (typeof v === 'string') return v.slice(0, MAX_CATEGORICAL_CHARS);
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Expected windows of every group of `view` that received data events, by group key (JSON of the values). */
export function expectedGroups(view: ViewSpec, sent: readonly SentEvent[]): Map<string, ExpectedGroup> {
  const byGroup = new Map<string, { values: GroupValues; events: SentEvent[] }>();
  for (const s of sent) {
    if (!matches(view, s.event)) continue;
    const values = view.groupBy.map((f) => groupValue(s.event[f]));
    const key = JSON.stringify(values);
    const g = byGroup.get(key) ?? { values, events: [] };
    byGroup.set(key, g);
    g.events.push(s);
  }
  const out = new Map<string, ExpectedGroup>();
  for (const [key, { values, events }] of byGroup) {
    const windows = assignWindows(view, events)
      .map(({ start, end, events: inWindow }) => expectedWindow(view, start, end, inWindow))
      .filter((w) => w.dataEvents > 0)
      .sort((a, b) => a.start - b.start);
    if (windows.length > 0) out.set(key, { values, windows });
  }
  return out;
}

function assignWindows(view: ViewSpec, events: readonly SentEvent[]) {
  const window = view.window;
  if (window.type === 'session') {
    // A session runs from its first event to its last plus the gap; an event less than a gap after the
    // previous one extends it.
    const sorted = [...events].sort((a, b) => a.time - b.time);
    const sessions: { start: number; end: number; events: SentEvent[] }[] = [];
    for (const e of sorted) {
      const open = sessions[sessions.length - 1];
      if (open && e.time - (open.end - window.gapMs) < window.gapMs) {
        open.events.push(e);
        open.end = e.time + window.gapMs;
      } else sessions.push({ start: e.time, end: e.time + window.gapMs, events: [e] });
    }
    return sessions;
  }
  // Tumbling and sliding windows start at multiples of the slide (epoch-aligned) and hold [start, start+size).
  const byStart = new Map<number, SentEvent[]>();
  for (const e of events) {
    for (let start = e.time - (e.time % window.slideMs); start > e.time - window.sizeMs; start -= window.slideMs) {
      const list = byStart.get(start) ?? [];
      byStart.set(start, list);
      list.push(e);
    }
  }
  return [...byStart].map(([start, list]) => ({ start, end: start + window.sizeMs, events: list }));
}

function expectedWindow(view: ViewSpec, start: number, end: number, sent: readonly SentEvent[]): ExpectedWindow {
  const events = sent.map((s) => s.event);
  const measures: Record<string, unknown> = {};
  const quantiles: Record<string, Record<string, number | null>> = {};
  for (const m of view.measures) {
    if (m.fn === 'quantiles') quantiles[m.name] = exactQuantiles(m.q, events, m.field);
    else measures[m.name] = measureValue(m, events);
  }
  const data = sent.filter((s) => s.kind === 'data');
  return {
    start,
    end,
    count: events.length,
    dataEvents: data.length,
    measures,
    quantiles,
    dataTimes: data.map((s) => s.time),
  };
}

function measureValue(m: MeasureSpec, events: readonly Readonly<Record<string, unknown>>[]): unknown {
  if (m.fn === 'count') return events.length;
  if (m.fn === 'distinct')
    return new Set(events.map((e) => categorical(e, m.field)).filter((v) => v !== undefined)).size;
  if (m.fn === 'topk') {
    const counts = new Map<string, number>();
    for (const e of events) {
      const v = categorical(e, m.field);
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // Most frequent first, ties by value: the order the API documents.
    return [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, m.k)
      .map(([value, count]) => ({ value, count }));
  }
  if (m.fn === 'quantiles') throw new Error('quantiles are checked against exact values with a tolerance');
  const values = events.map((e) => numeric(e, m.field)).filter((v) => v !== undefined);
  if (values.length === 0) return null;
  switch (m.fn) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'maxBy':
    case 'minBy': {
      // The extreme value; among events that share it, the one whose [value, ...kept] JSON sorts first.
      const best = m.fn === 'maxBy' ? Math.max(...values) : Math.min(...values);
      const rows = events
        .filter((e) => numeric(e, m.field) === best)
        .map((e) => [best, ...m.keep.map((f) => e[f] ?? null)])
        .map((row) => ({ row, json: JSON.stringify(row) }))
        .sort((a, b) => (a.json < b.json ? -1 : a.json > b.json ? 1 : 0));
      const row = rows[0]!.row;
      const out: Record<string, unknown> = { [m.field]: best };
      m.keep.forEach((f, i) => {
        out[f] = row[i + 1];
      });
      return out;
    }
  }
}

/** The value at rank ⌊q·(n−1)⌋ of the sorted values, the rank the API's sketch estimates. */
function exactQuantiles(
  qs: readonly number[],
  events: readonly Readonly<Record<string, unknown>>[],
  field: string,
): Record<string, number | null> {
  const values = events
    .map((e) => numeric(e, field))
    .filter((v) => v !== undefined)
    .sort((a, b) => a - b);
  return Object.fromEntries(
    qs.map((q) => [String(q), values.length === 0 ? null : values[Math.floor(q * (values.length - 1))]!]),
  );
}
