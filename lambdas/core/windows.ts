/**
 * Window assignment by event time. Every window kind is stored as panes and composed when read:
 * - tumbling: one pane per window (pane = size);
 * - sliding: panes of gcd(size, slide); a window is the size/pane consecutive panes from its start, so an
 *   event costs one pane update whatever size/slide is;
 * - session: panes of `gap`. Two events in one pane are less than `gap` apart, so they are always in the same
 *   session; adjacent panes join when the gap between them is below `gap`. Sessions are composed on read,
 *   which is what lets sessions built on different shards and in different batches merge.
 * All windows are aligned to the Unix epoch.
 */
import type { WindowSpec } from './config.ts';

export function paneStartOf(time: number, paneMs: number): number {
  return time - (time % paneMs);
}

/**
 * The end of the earliest window an event at `time` can change. An event is late when that window is final,
 * because its pane is shared with it: adding the event would change a result that was already published.
 * For sessions, an event at `time` can only extend a session that ends after `time`.
 */
export function earliestWindowEnd(window: WindowSpec, time: number): number {
  if (window.type === 'session') return time;
  // Smallest multiple of the slide above time - size: the first window that still contains `time`.
  const start = Math.floor((time - window.sizeMs) / window.slideMs) * window.slideMs + window.slideMs;
  return start + window.sizeMs;
}

/** A window is final once the watermark has passed its end plus the allowed lateness. */
export function isFinal(windowEnd: number, watermark: number, allowedLatenessMs: number): boolean {
  return windowEnd + allowedLatenessMs <= watermark;
}

/** Start of the first window (a multiple of the slide) that contains pane `paneStart`. */
function firstWindowStartOfPane(window: WindowSpec & { type: 'tumbling' | 'sliding' }, paneStart: number): number {
  const earliest = paneStart - window.sizeMs + window.paneMs;
  return Math.ceil(earliest / window.slideMs) * window.slideMs;
}

/** Window starts whose windows contain pane `paneStart`, ascending. */
export function windowStartsOfPane(window: WindowSpec & { type: 'tumbling' | 'sliding' }, paneStart: number): number[] {
  const starts: number[] = [];
  for (let s = firstWindowStartOfPane(window, paneStart); s <= paneStart; s += window.slideMs) starts.push(s);
  return starts;
}
