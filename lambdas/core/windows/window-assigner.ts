/**
 * What a window kind is to the rest of Eddy: a `WindowAssigner` (as Flink's), the one place that knows how the
 * kind stores events in panes and composes them back into windows. Every window kind is stored as panes and
 * composed when read, so batches, shards and sessions merge on read; see sliding.ts and session.ts.
 * All windows are aligned to the Unix epoch.
 */

import type { WindowSpec } from '../config.ts';
import type { PanePartial, ViewMeasures } from '../pane.ts';
import type { WindowScore } from '../pane-log.ts';

export interface WindowResult {
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly final: boolean;
  readonly count: number;
  readonly measures: Record<string, unknown>;
  /** A final window of a view with an anomaly detector: how it scored (once the group is warmed up). */
  readonly score?: WindowScore;
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

/** Ascending pane partials of one group (one entry per shard partial; equal starts are merged). */
export type PaneStream = AsyncIterable<{ readonly paneStart: number; readonly partial: PanePartial }>;

/** A window awaiting emission, and the earliest time (event time) it can become final. */
export interface OpenWindow {
  readonly windowStart: number;
  readonly readyAt: number;
}

export interface WindowAssigner {
  readonly spec: WindowSpec;
  /** The pane an event at `time` is added to. */
  paneOf(time: number): number;
  /**
   * The end of the earliest window an event at `time` can change. An event is late when that window is final,
   * because its pane is shared with it: adding the event would change a result that was already published.
   */
  earliestWindowEnd(time: number): number;
  /** The windows a pane belongs to, each with the earliest time it can be final (the emitter's entries). */
  windowsOfPane(paneStart: number): OpenWindow[];
  /** The panes to read, ascending, to compose every window that starts in [from, to). */
  paneRange(from: number, to: number): { readonly from: number; readonly to: number };
  /** The window starts an open-window entry at `windowStart` stands for: [from, to). */
  entryWindows(windowStart: number): { readonly from: number; readonly to: number };
  /** Composes the windows starting in [req.from, req.to) from panes read over `paneRange`. */
  compose(measures: ViewMeasures, panes: PaneStream, req: ComposeRequest): Promise<ComposedPage>;
}

/** Pane starts are stored with 15 digits: the end of representable time. */
export const END_OF_TIME = 10 ** 15 - 1;

/** A window is final once the watermark has passed its end plus the allowed lateness. */
export function isFinal(windowEnd: number, watermark: number, allowedLatenessMs: number): boolean {
  return windowEnd + allowedLatenessMs <= watermark;
}

export function paneStartOf(time: number, paneMs: number): number {
  return time - (time % paneMs);
}
