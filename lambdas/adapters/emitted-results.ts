/**
 * A view's published results in window-end order (GET /emitted): the compacted windows, each unpacked from its
 * chunks. A position is the last window read whole and how many results of the next one were already given.
 */
import { groupObject, groupValuesOfKey } from '../core/group.ts';
import { unpackResults } from '../core/pane-log.ts';
import type { EmittedPage, EmittedPosition, EmittedResult, StateStore } from '../core/store.ts';
import { compactedWindowKey } from './dynamo/compacted-items.ts';
import type { WindowReader } from './window-reader.ts';

export type EmittedStore = Pick<StateStore, 'listCompacted' | 'getChunks'>;

/** Windows listed per Query. */
const WINDOWS_PER_READ = 10;

export async function listEmitted(
  store: EmittedStore,
  reader: WindowReader,
  untilEnd: number,
  limit: number,
  position: EmittedPosition | null,
): Promise<EmittedPage> {
  let after = position?.after ?? null;
  let offset = position?.offset ?? 0;
  const results: EmittedResult[] = [];
  for (;;) {
    const page = await store.listCompacted(reader.viewId, 0, untilEnd, WINDOWS_PER_READ, after);
    for (const w of page.windows) {
      const chunks = (await store.getChunks(w)).sort((a, b) => a.lo - b.lo);
      const all = chunks.flatMap((c) => unpackResults(c.data));
      const taken = all.slice(offset, offset + limit - results.length);
      for (const r of taken) {
        results.push({
          view: w.view,
          group: groupObject(reader.view, groupValuesOfKey(r.groupKey)),
          groupKey: r.groupKey,
          windowStart: r.windowStart,
          windowEnd: r.windowEnd,
          measures: r.measures,
          emittedAt: w.emittedAt,
        });
      }
      if (offset + taken.length < all.length) {
        return { results, next: { after, offset: offset + taken.length } };
      }
      after = compactedWindowKey(w);
      offset = 0;
      if (results.length === limit) return { results, next: { after, offset: 0 } };
    }
    if (page.windows.length < WINDOWS_PER_READ)
      return { results, next: after === null ? position : { after, offset: 0 } };
  }
}
