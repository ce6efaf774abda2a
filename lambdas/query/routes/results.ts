/** GET /views/{view}/results: one group's windows of a view, from the stored panes, paged by window start. */
import { HttpError } from '../../adapters/http.ts';
import { END_OF_TIME } from '../../adapters/window-reader.ts';
import { windowScoreField } from '../../core/anomaly/report.ts';
import { MAX_GROUP_KEY_BYTES } from '../../core/batch-aggregator.ts';
import { groupKeyOf } from '../../core/group.ts';
import { windowStartCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownGroupParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso, parseTime } from '../times.ts';

/** Besides the view's group fields. */
const PARAMETERS = ['from', 'to', 'limit', 'cursor'];

export async function results(read: ReadModel, viewName: string, params: Params) {
  const view = read.view(viewName);
  refuseUnknownGroupParameters(params, view, PARAMETERS);
  const group = view.groupBy.map((field) => params[field] ?? null);
  const groupKey = groupKeyOf(group);
  // The group key is part of DynamoDB's partition key (at most 2,048 bytes; a longer one fails the request).
  // No stored group is longer than MAX_GROUP_KEY_BYTES: events with such groups are dead-lettered.
  if (Buffer.byteLength(groupKey) > MAX_GROUP_KEY_BYTES) {
    const given = view.groupBy.filter((f) => params[f] !== undefined);
    throw new HttpError(
      400,
      `${given.join(', ')}: group values too long (${Buffer.byteLength(groupKey)} bytes as a group key; at most ${MAX_GROUP_KEY_BYTES}, and no longer group is ever stored)`,
    );
  }
  const from = params.cursor ? windowStartCursor.decode(params.cursor) : parseTime(params.from, 'from', 0);
  const to = parseTime(params.to, 'to', END_OF_TIME);
  const limit = parseLimit(params.limit);
  const watermark = await read.resultsWatermark();
  const page = await read.reader(view).read(groupKey, {
    from,
    to,
    limit,
    watermark,
    allowedLatenessMs: read.config.allowedLatenessMs,
  });
  return {
    view: view.name,
    group: Object.fromEntries(view.groupBy.map((f, i) => [f, group[i]])),
    watermark: iso(watermark),
    results: page.windows.map((w) => ({
      windowStart: iso(w.windowStart),
      windowEnd: iso(w.windowEnd),
      final: w.final,
      measures: w.measures,
      // Views with an anomaly detector: how the final window scored against the group's history.
      ...windowScoreField(w.score),
    })),
    nextCursor: page.nextStart === null ? null : windowStartCursor.encode(page.nextStart),
  };
}
