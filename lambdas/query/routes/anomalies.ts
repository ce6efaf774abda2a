/** GET /anomalies: a view's windows its detector reported, oldest window first. */
import { HttpError } from '../../adapters/http.ts';
import { END_OF_TIME } from '../../adapters/window-reader.ts';
import { anomalyReport } from '../../core/anomaly/report.ts';
import { groupKeyOf } from '../../core/group.ts';
import { sortKeyCursor } from '../cursors.ts';
import { type Params, parseLimit, refuseUnknownGroupParameters } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { parseTime } from '../times.ts';

/** Besides the view's group fields. */
const PARAMETERS = ['view', 'from', 'to', 'limit', 'cursor'];

/**
 * `from` and `to` bound the window start, as for results. With no group field, every group's anomalies are
 * listed; with some, one group's, a group field left out being null (as GET /views/{view}/results reads it).
 */
export async function anomalies(read: ReadModel, params: Params) {
  const withDetector = read.config.views.filter((v) => v.anomaly).map((v) => v.name);
  if (params.view === undefined) {
    throw new HttpError(
      400,
      `view: required; views with an anomaly detector: ${withDetector.length > 0 ? withDetector.join(', ') : 'none (add anomaly: {...} to a view in the config)'}`,
    );
  }
  const view = read.view(params.view);
  refuseUnknownGroupParameters(params, view, PARAMETERS);
  if (!view.anomaly) {
    throw new HttpError(
      400,
      `view: '${view.name}' has no anomaly detector; ${withDetector.length > 0 ? `views with one: ${withDetector.join(', ')}` : 'add anomaly: {...} to it in the config'}`,
    );
  }
  const oneGroup = view.groupBy.some((f) => params[f] !== undefined);
  const groupKey = oneGroup ? groupKeyOf(view.groupBy.map((f) => params[f] ?? null)) : undefined;
  const from = parseTime(params.from, 'from', 0);
  const to = parseTime(params.to, 'to', END_OF_TIME);
  const limit = parseLimit(params.limit);
  const page = await read.store.listAnomalies(
    read.reader(view).viewId,
    { from, to, ...(groupKey === undefined ? {} : { groupKey }) },
    limit,
    sortKeyCursor.decode(params.cursor),
  );
  return {
    anomalies: page.anomalies.map(anomalyReport),
    nextCursor: sortKeyCursor.encode(page.nextCursor),
  };
}
