/**
 * Every group of one window, with its result: what GET /views/{view}/groups ranks. Built on today's item
 * layout without a table scan:
 *
 * 1. The open-window entries of the window (`open|<view>`, one sort-key prefix) list the groups batches wrote
 *    panes for and the emitter has not published yet.
 * 2. The emitted outbox of the window (`emitted|<view>`, one sort-key prefix) holds the published ones, with
 *    their final measures.
 * 3. The groups in 1 and not in 2 are read from their panes, every shard's, with BatchGetItem (100 keys a
 *    call rather than one Query per group) and composed as `WindowReader` composes them.
 *
 * Entries are read before the outbox: the emitter publishes an entry's groups before it deletes the entry, so
 * a group is in the entries, or else already in the outbox. Both exist only for views that emit (`emit:
 * true`) and for tumbling and sliding windows; the outbox keeps results 7 days (TTL).
 *
 * This is the one place that knows how a window's groups are found; a storage layout with an index of its
 * own replaces this function and nothing else.
 */
import { forEachLimited } from '../core/concurrency.ts';
import { groupObject } from '../core/group.ts';
import type { PanePartial } from '../core/pane.ts';
import type { PaneRef } from '../core/store.ts';
import type { DynamoStateStore } from './dynamo-state-store.ts';
import type { WindowReader } from './window-reader.ts';

export type WindowGroupStore = Pick<
  DynamoStateStore,
  'getShardStates' | 'getPanes' | 'listOpenWindowGroups' | 'listEmittedWindow'
>;

export interface WindowGroup {
  readonly groupKey: string;
  readonly group: Record<string, string | null>;
  readonly measures: Record<string, unknown>;
}

/** Pane keys per BatchGetItem call (DynamoDB's limit), and calls in flight at once. */
const PANES_PER_READ = 100;
const READ_CONCURRENCY = 8;

/**
 * The groups of the window of `reader`'s view that starts at `windowStart` and holds at least one event, in no
 * particular order. The view must emit and have tumbling or sliding windows (the caller checks).
 */
export async function readWindowGroups(
  store: WindowGroupStore,
  reader: WindowReader,
  windowStart: number,
): Promise<WindowGroup[]> {
  const window = reader.view.window;
  if (window.type === 'session') throw new Error(`view '${reader.view.name}' has session windows`);
  const windowEnd = windowStart + window.sizeMs;
  // Entries first, then the outbox (see above).
  const open = await store.listOpenWindowGroups(reader.viewId, windowEnd, windowStart);
  const published = await store.listEmittedWindow(reader.viewId, windowStart, windowEnd);
  const groups: WindowGroup[] = published.map((r) => ({ groupKey: r.groupKey, group: r.group, measures: r.measures }));
  const done = new Set(published.map((r) => r.groupKey));
  const pending = open.filter((g) => !done.has(g.groupKey));
  if (pending.length === 0) return groups;

  const refs: PaneRef[] = [];
  for (const g of pending) {
    for (let p = windowStart; p < windowEnd; p += window.paneMs) {
      refs.push({ viewId: reader.viewId, groupKey: g.groupKey, paneStart: p });
    }
  }
  const shards = await store.getShardStates();
  const chunks: Array<{ shardId: string; refs: PaneRef[] }> = [];
  for (const { shardId } of shards) {
    for (let i = 0; i < refs.length; i += PANES_PER_READ)
      chunks.push({ shardId, refs: refs.slice(i, i + PANES_PER_READ) });
  }
  const partials = new Map<string, PanePartial>();
  await forEachLimited(chunks, READ_CONCURRENCY, async (chunk) => {
    for (const pane of (await store.getPanes(chunk.shardId, chunk.refs)).values()) {
      const decoded = reader.measures.decode(pane.count, pane.minTime, pane.maxTime, pane.partials);
      const into = partials.get(pane.groupKey);
      if (into) reader.measures.merge(into, decoded);
      else partials.set(pane.groupKey, decoded);
    }
  });
  for (const g of pending) {
    const partial = partials.get(g.groupKey);
    // Listed, but no pane written yet (the batch that listed it is still running, or failed and will retry).
    if (!partial) continue;
    groups.push({
      groupKey: g.groupKey,
      group: groupObject(reader.view, g.group),
      measures: reader.measures.results(partial),
    });
  }
  return groups;
}
