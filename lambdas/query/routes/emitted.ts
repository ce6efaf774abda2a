/** GET /emitted: a view's final results as published, in window-end order. */
import { listEmitted } from '../../adapters/emitted-results.ts';
import { HttpError } from '../../adapters/http.ts';
import { END_OF_TIME } from '../../adapters/window-reader.ts';
import { emittedCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso } from '../times.ts';

const PARAMETERS = ['view', 'limit', 'cursor'];

/**
 * Only results below the point where nothing can still be published are listed (the watermark minus the
 * allowed lateness, and the earliest window still awaiting emission), so a consumer that polls with
 * `nextCursor` never skips one that is published later.
 */
export async function emitted(read: ReadModel, params: Params) {
  refuseUnknownParameters(params, PARAMETERS);
  if (params.view === undefined) {
    throw new HttpError(400, `view: required; one of ${read.config.views.map((v) => v.name).join(', ')}`);
  }
  const view = read.view(params.view);
  if (!view.emit)
    throw new HttpError(400, `view: '${view.name}' does not publish its results (emit: false in the config)`);
  const reader = read.reader(view);
  const limit = parseLimit(params.limit);
  const [watermark, [pending]] = await Promise.all([
    read.resultsWatermark(),
    read.store.listOpenWindows(reader.viewId, END_OF_TIME, 1),
  ]);
  const final = watermark === null ? 0 : watermark - read.config.allowedLatenessMs + 1;
  const completeBefore = Math.min(final, pending?.readyAt ?? END_OF_TIME);
  const page = await listEmitted(read.store, reader, completeBefore, limit, emittedCursor.decode(params.cursor));
  return {
    view: reader.view.name,
    completeThrough: completeBefore > 0 ? iso(completeBefore - 1) : null,
    results: page.results.map((r) => ({
      group: r.group,
      windowStart: iso(r.windowStart),
      windowEnd: iso(r.windowEnd),
      measures: r.measures,
      emittedAt: iso(r.emittedAt),
    })),
    nextCursor: emittedCursor.encode(page.next),
  };
}
