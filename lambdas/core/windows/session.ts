/**
 * Session windows (Flink's definition: a session runs from its first event to its last event plus the gap).
 * Stored as panes of `gap`: two events in one pane are less than `gap` apart, so they are always in the same
 * session, and adjacent panes join when the gap between them is below `gap`. Sessions are composed on read,
 * which is what lets sessions built on different shards and in different batches merge.
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

export class SessionAssigner implements WindowAssigner {
  constructor(readonly spec: WindowSpec & { type: 'session' }) {}

  paneOf(time: number): number {
    return paneStartOf(time, this.spec.paneMs);
  }

  /** An event at `time` can only extend a session that ends after `time`. */
  earliestWindowEnd(time: number): number {
    return time;
  }

  /** A session starting in this bucket can be final one gap after the bucket starts, at the earliest. */
  windowsOfPane(paneStart: number): OpenWindow[] {
    return [{ windowStart: paneStart, readyAt: paneStart + this.spec.gapMs }];
  }

  /**
   * From one bucket before from's bucket (a session crossing into it starts there), open-ended after `to`,
   * because a session that starts before `to` may run past it. Reading stops once the page is full.
   */
  paneRange(from: number) {
    return { from: paneStartOf(from, this.spec.paneMs) - this.spec.paneMs, to: END_OF_TIME };
  }

  /** The sessions that start in the entry's bucket (one that started earlier has its own entry there). */
  entryWindows(windowStart: number) {
    return { from: windowStart, to: windowStart + this.spec.paneMs };
  }

  compose(measures: ViewMeasures, panes: PaneStream, req: ComposeRequest): Promise<ComposedPage> {
    return readSessions(this.spec.gapMs, measures, panes, req);
  }
}

/**
 * Sessions (ascending by start) from gap-sized buckets read in ascending order, starting one bucket before
 * `from`'s bucket: a session that crosses into `from`'s bucket can only come from that one, since buckets
 * further apart are at least a gap apart. A session runs from its first event to its last event plus the gap
 * (Flink's definition); consecutive buckets are one session when the second starts less than a gap after
 * the first ends. Stops consuming once the session after the first `limit` is known.
 */
async function readSessions(
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
