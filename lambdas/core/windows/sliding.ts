/**
 * Tumbling and sliding windows. Sliding windows are stored as panes of gcd(size, slide); a window is the
 * size/pane consecutive panes from its start, so an event costs one pane update whatever size/slide is. A
 * tumbling window is one pane (pane = size = slide).
 */
import type { WindowSpec } from '../config.ts';
import type { PanePartial, ViewMeasures } from '../pane.ts';
import {
  type ComposedPage,
  type ComposeRequest,
  END_OF_TIME,
  isFinal,
  type OpenWindow,
  type PaneStream,
  paneStartOf,
  type WindowAssigner,
  type WindowResult,
} from './window-assigner.ts';

type PaneWindow = WindowSpec & { type: 'tumbling' | 'sliding' };

export /** Tumbling windows are sliding windows whose slide is their size. */
class SlidingAssigner implements WindowAssigner {
  constructor(readonly spec: PaneWindow) {}

  paneOf(time: number): number {
    return paneStartOf(time, this.spec.paneMs);
  }

  earliestWindowEnd(time: number): number {
    // Smallest multiple of the slide above time - size: the first window that still contains `time`.
    const start = Math.floor((time - this.spec.sizeMs) / this.spec.slideMs) * this.spec.slideMs + this.spec.slideMs;
    return start + this.spec.sizeMs;
  }

  windowsOfPane(paneStart: number): OpenWindow[] {
    return this.windowStartsOfPane(paneStart).map((s) => ({ windowStart: s, readyAt: s + this.spec.sizeMs }));
  }

  /** Up to the end of the last window starting below `to`. */
  paneRange(from: number, to: number) {
    const lastStart = Math.ceil(to / this.spec.slideMs) * this.spec.slideMs - this.spec.slideMs;
    return { from, to: Math.min(lastStart + this.spec.sizeMs, END_OF_TIME) };
  }

  entryWindows(windowStart: number) {
    return { from: windowStart, to: windowStart + 1 };
  }

  compose(measures: ViewMeasures, panes: PaneStream, req: ComposeRequest): Promise<ComposedPage> {
    return readWindows(this.spec, (p) => this.windowStartsOfPane(p), measures, panes, req);
  }

  /** Window starts whose windows contain pane `paneStart`, ascending. */
  private windowStartsOfPane(paneStart: number): number[] {
    const { sizeMs, slideMs, paneMs } = this.spec;
    const first = Math.ceil((paneStart - sizeMs + paneMs) / slideMs) * slideMs;
    const starts: number[] = [];
    for (let s = first; s <= paneStart; s += slideMs) starts.push(s);
    return starts;
  }
}

/**
 * Windows (ascending) from merged panes. `panes` must hold every pane of each window it is asked about:
 * the caller reads panes in ascending order and may stop once `isComplete` says enough were read.
 */
function composeWindows(
  window: PaneWindow,
  windowStartsOfPane: (paneStart: number) => number[],
  measures: ViewMeasures,
  panes: ReadonlyMap<number, PanePartial>,
  req: ComposeRequest,
): ComposedPage {
  const starts = candidateStarts(windowStartsOfPane, panes.keys(), req);
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

function candidateStarts(
  windowStartsOfPane: (paneStart: number) => number[],
  paneStarts: Iterable<number>,
  req: ComposeRequest,
): number[] {
  const starts = new Set<number>();
  for (const p of paneStarts) {
    for (const s of windowStartsOfPane(p)) if (s >= req.from && s < req.to) starts.add(s);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * Reads ascending panes (one entry per shard partial; equal starts are merged) until the first `limit`
 * windows are complete and the next window with data is known, then composes them. Stops consuming early,
 * so a Query over a long range reads only the pages it needs.
 */
async function readWindows(
  window: PaneWindow,
  windowStartsOfPane: (paneStart: number) => number[],
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
    for (const s of windowStartsOfPane(paneStart)) {
      if (s >= req.from && s < req.to && s > (starts[starts.length - 1] ?? Number.NEGATIVE_INFINITY)) starts.push(s);
    }
  }
  return composeWindows(window, windowStartsOfPane, measures, merged, req);
}
