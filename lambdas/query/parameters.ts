/** Query-string parameters of the read routes: each error names the parameter and what would be accepted. */
import { HttpError } from '../adapters/http.ts';

export type Params = Record<string, string | undefined>;

const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/**
 * Refuses parameters the route does not take, naming each and the route's parameters: `takes` says them when a
 * plain list does not (the results route, whose group fields depend on the view).
 */
export function refuseUnknownParameters(
  params: Params,
  accepted: readonly string[],
  takes = `use ${accepted.join(', ')}`,
): void {
  const unknown = Object.keys(params).filter((name) => !accepted.includes(name));
  if (unknown.length > 0) {
    throw new HttpError(400, `unknown parameter ${unknown.map((name) => `'${name}'`).join(', ')}; ${takes}`);
  }
}

/** A route that names one group of a view by its group fields: refuses anything but those and `accepted`. */
export function refuseUnknownGroupParameters(
  params: Params,
  view: { readonly name: string; readonly groupBy: readonly string[] },
  accepted: readonly string[],
): void {
  const groups = view.groupBy.length > 0 ? `group fields ${view.groupBy.join(', ')}` : 'no group fields';
  refuseUnknownParameters(
    params,
    [...view.groupBy, ...accepted],
    `view '${view.name}' takes ${groups}, ${accepted.join(', ')}`,
  );
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new HttpError(400, `limit: '${value}' must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return n;
}
