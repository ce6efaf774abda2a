/**
 * GET /views/{view}/groups: every group of one window ranked by a scalar result, "the top auctions of the last
 * 10 seconds". The window is `latest` (the newest whose start is at or below the watermark) or a window start;
 * the groups come from lambdas/adapters/window-groups.ts. Session views (whose windows start per group) are
 * refused by name.
 */
import { HttpError } from '../../adapters/http.ts';
import { readWindowGroups } from '../../adapters/window-groups.ts';
import { parseEventTime } from '../../core/event-time.ts';
import { defaultOrderBy, orderableResults, rankGroups } from '../../core/group-ranking.ts';
import { isFinal } from '../../core/windows/index.ts';
import { groupsCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso } from '../times.ts';

const PARAMETERS = ['window', 'orderBy', 'order', 'limit', 'cursor'];

export async function groups(read: ReadModel, viewName: string, params: Params) {
  const view = read.view(viewName);
  refuseUnknownParameters(params, PARAMETERS);
  const window = view.window;
  if (window.type === 'session') {
    throw new HttpError(
      400,
      `view: '${view.name}' has session windows, which start and end per group; /groups ranks the groups of one tumbling or sliding window (read a group's sessions with /views/${view.name}/results)`,
    );
  }
  const orderable = orderableResults(view);
  const orderBy = params.orderBy ?? defaultOrderBy(view);
  if (orderBy === null || !orderable.includes(orderBy)) {
    throw new HttpError(
      400,
      orderable.length === 0
        ? `orderBy: view '${view.name}' has no numeric result to order groups by`
        : `orderBy: ${params.orderBy === undefined ? 'required' : `'${params.orderBy}' is not a numeric result of view '${view.name}'`}; use one of ${orderable.join(', ')}`,
    );
  }
  const order = params.order ?? 'desc';
  if (order !== 'desc' && order !== 'asc') throw new HttpError(400, `order: '${order}' must be desc or asc`);
  const limit = parseLimit(params.limit);
  const cursor = params.cursor === undefined ? null : groupsCursor.decode(params.cursor);
  if (cursor !== null && (cursor.orderBy !== orderBy || cursor.order !== order)) {
    throw new HttpError(
      400,
      `cursor: was made for orderBy=${cursor.orderBy}&order=${cursor.order}; pass the same orderBy and order as for the first page`,
    );
  }

  const watermark = await read.resultsWatermark();
  let windowStart: number | null;
  if (cursor !== null) {
    // A page continues the window of the first page, even when `latest` has moved on since.
    windowStart = cursor.windowStart;
    if (params.window !== undefined && params.window !== 'latest' && parseWindowStart(params.window) !== windowStart) {
      throw new HttpError(400, `cursor: belongs to window ${iso(windowStart)}, not ${params.window}`);
    }
  } else if (params.window === undefined || params.window === 'latest') {
    windowStart = watermark === null ? null : watermark - (watermark % window.slideMs);
  } else {
    windowStart = parseWindowStart(params.window);
  }
  if (windowStart !== null && windowStart % window.slideMs !== 0) {
    const before = windowStart - (windowStart % window.slideMs);
    throw new HttpError(
      400,
      `window: '${params.window}' is not the start of a window of view '${view.name}'; its windows start every ${window.slideMs} ms (${iso(before)}, ${iso(before + window.slideMs)}, ...), or use latest`,
    );
  }
  const base = { view: view.name, orderBy, order };
  // No watermark yet (nothing processed, or a shard holds it back): no window is the latest.
  if (windowStart === null)
    return { ...base, windowStart: null, windowEnd: null, final: false, groups: [], nextCursor: null };

  const windowEnd = windowStart + window.sizeMs;
  const all = await readWindowGroups(
    read.store,
    read.reader(view),
    windowStart,
    watermark,
    read.config.allowedLatenessMs,
  );
  const page = rankGroups(all, orderBy, order, limit, cursor?.after ?? null);
  return {
    ...base,
    windowStart: iso(windowStart),
    windowEnd: iso(windowEnd),
    final: watermark !== null && isFinal(windowEnd, watermark, read.config.allowedLatenessMs),
    groups: page.groups.map((g) => ({ group: g.group, measures: g.measures })),
    nextCursor: page.next === null ? null : groupsCursor.encode({ windowStart, orderBy, order, after: page.next }),
  };
}

function parseWindowStart(value: string): number {
  const parsed = parseEventTime(/^\d+$/.test(value) ? Number(value) : value, 'window');
  if (!parsed.ok) {
    throw new HttpError(
      400,
      `window: '${value}' is not a window start; use latest, epoch milliseconds or ISO-8601 with a zone (2026-11-24T10:00:00Z)`,
    );
  }
  return parsed.time;
}
