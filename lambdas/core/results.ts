/**
 * Composing window results from pane partials on read. Panes arrive merged across shards; a tumbling window
 * is one pane, a sliding window merges the size/pane panes from its start.
 */
import type { WindowSpec } from './config.ts';
import type { PanePartial, ViewMeasures } from './pane.ts';
import { isFinal, windowStartsOfPane } from './windows.ts';

export interface WindowResult {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly final: boolean;
  readonly count: number;
  readonly measures: Record<string, unknown>;
}

export interface ComposeRequest {
  /** Window starts in [from, to). */
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  readonly watermark: number | null;
  readonly allowedLatenessMs: number;
}

export interface ComposedPage {
  readonly windows: WindowResult[];
  /** Start of the next window with data, if the limit cut the page short. */
  readonly nextStart: number | null;
}

type PaneWindow = WindowSpec & { type: 'tumbling' | 'sliding' };

/** Range of pane starts that windows starting in [from, to) can contain: up to the last such window's end. */
export function paneRangeFor(window: PaneWindow, from: number, to: number): { from: number; to: number } {
  const lastStart = Math.ceil(to / window.slideMs) * window.slideMs - window.slideMs;
  return { from, to: lastStart + window.sizeMs };
}

/**
 * Windows (ascending) from merged panes. `panes` must hold every pane of each window it is asked about:
 * the caller reads panes in ascending order and may stop once `isComplete` says enough were read.
 */
function composeWindows(
  window: PaneWindow,
  measures: ViewMeasures,
  panes: ReadonlyMap<number, PanePartial>,
  req: ComposeRequest,
): ComposedPage {
  const starts = candidateStarts(window, panes.keys(), req);
  const windows: WindowResult[] = [];
  for (const start of starts.slice(0, req.limit)) {
    const partial = measures.empty();
    for (let p = start; p < start + window.sizeMs; p += window.paneMs) {
      const pane = panes.get(p);
      if (pane) measures.merge(partial, pane);
    }
    const end = start + window.sizeMs;
    windows.push({
      windowStart: start,
      windowEnd: end,
      final: req.watermark !== null && isFinal(end, req.watermark, req.allowedLatenessMs),
      count: partial.count,
      measures: measures.results(partial),
    });
  }
  return { windows, nextStart: starts[req.limit] ?? null };
}

function candidateStarts(window: PaneWindow, paneStarts: Iterable<number>, req: ComposeRequest): number[] {
  const starts = new Set<number>();
  for (const p of paneStarts) {
    for (const s of windowStartsOfPane(window, p)) if (s >= req.from && s < req.to) starts.add(s);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * Reads ascending panes (one entry per shard partial; equal starts are merged) until the first `limit`
 * windows are complete and the next window with data is known, then composes them. Stops consuming early,
 * so a Query over a long range reads only the pages it needs.
 */
export async function readWindows(
  window: PaneWindow,
  measures: ViewMeasures,
  panes: AsyncIterable<{ readonly paneStart: number; readonly partial: PanePartial }>,
  req: ComposeRequest,
): Promise<ComposedPage> {
  const merged = new Map<number, PanePartial>();
  // Window starts grow with pane starts, so this list is appended in ascending order.
  const starts: number[] = [];
  for await (const { paneStart, partial } of panes) {
    const cut = starts[req.limit];
    if (cut !== undefined && paneStart >= cut + window.sizeMs) break;
    const existing = merged.get(paneStart);
    if (existing) {
      measures.merge(existing, partial);
      continue;
    }
    merged.set(paneStart, partial);
    for (const s of windowStartsOfPane(window, paneStart)) {
      if (s >= req.from && s < req.to && s > (starts[starts.length - 1] ?? Number.NEGATIVE_INFINITY)) starts.push(s);
    }
  }
  return composeWindows(window, measures, merged, req);
}

/**
 * Sessions (ascending by start) from gap-sized buckets read in ascending order, starting one bucket before
 * `from`'s bucket: a session that crosses into `from`'s bucket can only come from that one, since buckets
 * further apart are at least a gap apart. A session runs from its first event to its last event plus the gap
 * (Flink's definition); consecutive buckets are one session when the second starts less than a gap after
 * the first ends. Stops consuming once the session after the first `limit` is known.
 */
export async function readSessions(
  gapMs: number,
  measures: ViewMeasures,
  buckets: AsyncIterable<{ readonly paneStart: number; readonly partial: PanePartial }>,
  req: ComposeRequest,
): Promise<ComposedPage> {
  const windows: WindowResult[] = [];
  let nextStart: number | null = null;
  let open: PanePartial | null = null;
  let current: { paneStart: number; partial: PanePartial } | null = null;

  const close = (session: PanePartial): boolean => {
    const start = session.minTime;
    if (start < req.from || start >= req.to) return start >= req.to;
    if (windows.length === req.limit) {
      nextStart = start;
      return true;
    }
    const end = session.maxTime + gapMs;
    windows.push({
      windowStart: start,
      windowEnd: end,
      final: req.watermark !== null && isFinal(end, req.watermark, req.allowedLatenessMs),
      count: session.count,
      measures: measures.results(session),
    });
    return false;
  };
  // Folds a complete bucket (all shards merged) into the open session, or closes it and opens another.
  const fold = (bucket: { paneStart: number; partial: PanePartial }): boolean => {
    if (open && bucket.partial.minTime - open.maxTime < gapMs) {
      measures.merge(open, bucket.partial);
      return false;
    }
    const done = open ? close(open) : false;
    open = bucket.partial;
    return done;
  };

  for await (const b of buckets) {
    if (current && current.paneStart === b.paneStart) {
      measures.merge(current.partial, b.partial);
      continue;
    }
    if (current && fold(current)) return { windows, nextStart };
    current = { paneStart: b.paneStart, partial: b.partial };
  }
  if (current && fold(current)) return { windows, nextStart };
  if (open) close(open);
  return { windows, nextStart };
}
