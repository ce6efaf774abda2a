/**
 * Every group of one window, with its result: what GET /views/{view}/groups ranks. No table scan, and no list
 * of groups kept anywhere but the data itself:
 *
 * - a compacted window (final and published): its chunks, a few items whatever the number of groups;
 * - any other: every bucket's delta items of the window's panes (one Query per bucket), composed per group as
 *   `WindowReader` composes one group.
 *
 * A window is looked up compacted first: the emitter writes the window item only after all its chunks, and
 * deltas stay (until retention) after compaction, so a window is read whole one way or the other.
 */
import { groupObject, groupValuesOfKey } from '../core/group.ts';
import { unpackResults } from '../core/pane-log.ts';
import type { StateStore } from '../core/store.ts';
import type { WindowReader } from './window-reader.ts';

export type WindowGroupStore = Pick<StateStore, 'getCompacted' | 'getChunks' | 'queryDeltas'>;

export interface WindowGroup {
  readonly groupKey: string;
  readonly group: Record<string, string | null>;
  readonly measures: Record<string, unknown>;
}

/**
 * The groups of the window of `reader`'s view that starts at `windowStart` and holds at least one event, in no
 * particular order. The view must have tumbling or sliding windows (the caller checks).
 */
export async function readWindowGroups(
  store: WindowGroupStore,
  reader: WindowReader,
  windowStart: number,
  watermark: number | null,
  allowedLatenessMs: number,
): Promise<WindowGroup[]> {
  const window = reader.view.window;
  if (window.type === 'session') throw new Error(`view '${reader.view.name}' has session windows`);
  const windowEnd = windowStart + window.sizeMs;
  const toGroup = (groupKey: string, measures: Record<string, unknown>): WindowGroup => ({
    groupKey,
    group: groupObject(reader.view, groupValuesOfKey(groupKey)),
    measures,
  });

  const compacted = await store.getCompacted(reader.viewId, windowEnd, windowStart, 0);
  if (compacted) {
    const chunks = await store.getChunks(compacted);
    return chunks.flatMap((c) => unpackResults(c.data).map((r) => toGroup(r.groupKey, r.measures)));
  }
  const { from, to } = reader.windows.paneRange(windowStart, windowStart + 1);
  const groups: WindowGroup[] = [];
  const req = { from: windowStart, to: windowStart + 1, limit: 1, watermark, allowedLatenessMs };
  for (const [groupKey, panes] of await reader.allGroupPanes(from, to)) {
    const [result] = (await reader.compose(panes, req)).windows;
    if (result) groups.push(toGroup(groupKey, result.measures));
  }
  return groups;
}
