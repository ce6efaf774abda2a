/**
 * Reads window results from the pane log (lambdas/core/pane-log.ts): the one read path of the results API,
 * GET /groups and the emitter.
 *
 * - One group: windows the emitter has compacted are read from their chunk (one small item per window);
 *   the others are composed from the group's bucket of delta items, every shard's and batch's merged.
 * - Every group of a pane range (the emitter, GET /groups): every bucket's delta items, one Query each.
 */

import { forEachLimited } from '../core/concurrency.ts';
import type { ViewSpec } from '../core/config.ts';
import { viewIdOf } from '../core/group.ts';
import { type PanePartial, ViewMeasures } from '../core/pane.ts';
import { bucketOf, DELTA_BUCKETS, groupHash, unpackDelta, unpackResults } from '../core/pane-log.ts';
import type { CompactedPage, CompactedWindow, StateStore } from '../core/store.ts';
import {
  type ComposedPage,
  type ComposeRequest,
  END_OF_TIME,
  type WindowAssigner,
  type WindowResult,
  windowAssigner,
} from '../core/windows/index.ts';

export { END_OF_TIME };

/** Where one group's final windows are read from, when they are compacted. */
export type CompactedReads = Pick<StateStore, 'getCompactedThrough' | 'listCompacted' | 'getChunk'>;

/** A group's pane partials, ascending by pane start (several per pane: one per shard and batch). */
export type GroupPanes = Array<{ readonly paneStart: number; readonly partial: PanePartial }>;

/** Chunk lookups in flight at once for one group's read. */
const CHUNK_READS = 8;
/**
 * Compacted windows one group's read looks into, at most (one small Query each): a page of results ends
 * there, with a cursor, so a group seen in few of many windows is read page by page within the API's time.
 */
const MAX_WINDOWS_PER_READ = 128;

export class WindowReader {
  readonly viewId: string;
  readonly measures: ViewMeasures;
  readonly windows: WindowAssigner;

  constructor(
    readonly view: ViewSpec,
    private readonly store: Pick<StateStore, 'queryDeltas'>,
    /** Without it (the emitter), one group's windows are all composed from deltas. */
    private readonly compacted?: CompactedReads,
  ) {
    this.viewId = viewIdOf(view);
    this.measures = new ViewMeasures(view);
    this.windows = windowAssigner(view.window);
  }

  /** Windows of one group whose start is in [req.from, req.to), ascending. */
  async read(groupKey: string, req: ComposeRequest): Promise<ComposedPage> {
    const window = this.view.window;
    let compacted: WindowResult[] = [];
    let from = req.from;
    if (window.type !== 'session' && this.compacted) {
      // Windows ending at or before `through` are compacted: a window with data has its chunks.
      const through = await this.compacted.getCompactedThrough(this.viewId);
      const compactedTo = through === null ? req.from : Math.min(req.to, through - window.sizeMs + 1);
      if (compactedTo > req.from) {
        const page = await this.readCompacted(this.compacted, window.sizeMs, groupKey, req.from, compactedTo, req);
        if (page.nextStart !== null) return page;
        compacted = page.windows;
        from = compactedTo;
      }
    }
    const range = this.windows.paneRange(from, req.to);
    const rest = await this.windows.compose(
      this.measures,
      this.groupPanes(groupKey, range.from, Math.min(range.to, END_OF_TIME)),
      { ...req, from, limit: req.limit - compacted.length },
    );
    return { windows: [...compacted, ...rest.windows], nextStart: rest.nextStart };
  }

  /**
   * Every group's pane partials over [fromPane, toPane): every bucket's delta items. What the emitter
   * publishes and GET /groups ranks; a window's groups come from its panes, not from a list kept elsewhere.
   */
  async allGroupPanes(fromPane: number, toPane: number): Promise<Map<string, GroupPanes>> {
    const groups = new Map<string, GroupPanes>();
    const buckets = Array.from({ length: DELTA_BUCKETS }, (_, b) => b);
    await forEachLimited(buckets, DELTA_BUCKETS, async (bucket) => {
      for await (const item of this.store.queryDeltas(this.viewId, bucket, fromPane, toPane)) {
        for (const { groupKey, partial } of unpackDelta(this.measures, item.paneStart, item.data)) {
          const panes = groups.get(groupKey);
          if (panes) panes.push({ paneStart: item.paneStart, partial });
          else groups.set(groupKey, [{ paneStart: item.paneStart, partial }]);
        }
      }
    });
    // Buckets hold disjoint groups, and each bucket's items come in pane order: each list is ascending.
    return groups;
  }

  /**
   * Composes one group's windows from partials already read (see allGroupPanes). Composing merges partials
   * into one another, so it works on copies: the same partials can be composed again.
   */
  compose(panes: GroupPanes, req: ComposeRequest): Promise<ComposedPage> {
    return this.windows.compose(this.measures, this.copies(panes), req);
  }

  private async *copies(panes: GroupPanes) {
    for (const { paneStart, partial } of panes) {
      yield { paneStart, partial: this.measures.merge(this.measures.empty(), partial) };
    }
  }

  private async *groupPanes(groupKey: string, fromPane: number, toPane: number) {
    for await (const item of this.store.queryDeltas(this.viewId, bucketOf(groupKey), fromPane, toPane)) {
      for (const { partial } of unpackDelta(this.measures, item.paneStart, item.data, groupKey)) {
        yield { paneStart: item.paneStart, partial };
      }
    }
  }

  /** The group's results of compacted windows starting in [from, to): one chunk read per window. */
  private async readCompacted(
    store: CompactedReads,
    size: number,
    groupKey: string,
    from: number,
    to: number,
    req: ComposeRequest,
  ): Promise<ComposedPage> {
    const hash = groupHash(groupKey);
    const found: WindowResult[] = [];
    let cursor: string | null = null;
    let examined = 0;
    for (;;) {
      const page: CompactedPage = await store.listCompacted(this.viewId, from + size, to + size, CHUNK_READS, cursor);
      const windows: Array<{ w: CompactedWindow; result?: WindowResult }> = page.windows.map((w) => ({ w }));
      await forEachLimited(windows, CHUNK_READS, async (entry) => {
        const chunk = await store.getChunk(entry.w, hash);
        const r = chunk ? unpackResults(chunk.data).find((g) => g.groupKey === groupKey) : undefined;
        if (r) {
          const { windowStart, windowEnd, count, measures, score } = r;
          entry.result = { windowStart, windowEnd, final: true, count, measures, ...(score ? { score } : {}) };
        }
      });
      for (const { result } of windows) {
        if (!result) continue;
        if (found.length === req.limit) return { windows: found, nextStart: result.windowStart };
        found.push(result);
      }
      examined += windows.length;
      // A group with data in few of many windows: the page ends here, and the cursor goes on from here.
      const last = page.windows[page.windows.length - 1];
      if (examined >= MAX_WINDOWS_PER_READ && last && page.windows.length === CHUNK_READS) {
        return { windows: found, nextStart: last.windowStart + 1 };
      }
      if (page.windows.length < CHUNK_READS || page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    return { windows: found, nextStart: null };
  }
}
