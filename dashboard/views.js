/**
 * What the dashboard needs to know of a view, from `GET /views` (the definitions as configured): the result
 * names its groups can be ranked and charted by (the rules of GET /views/{view}/groups), and its slide.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** @param {number | string} duration `10s`, `500ms`, or milliseconds */
export function durationMs(duration) {
  if (typeof duration === 'number') return duration;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(String(duration).trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : Number.NaN;
}

/** @param {{ fn: string, field?: string }} measure */
export function measureName(measure) {
  return measure.fn === 'count' ? 'count' : `${measure.fn}_${measure.field}`;
}

/**
 * Numeric results: scalar measures by name, quantiles as `<name>.<q>`, maxBy/minBy as `<name>.<field>`; topk
 * lists are not one number.
 * @param {{ measures: Array<{ fn: string, field?: string, q?: number[] }> }} view
 */
export function numericResults(view) {
  return view.measures.flatMap((m) => {
    const name = measureName(m);
    if (m.fn === 'quantiles') return (m.q ?? []).map((q) => `${name}.${q}`);
    if (m.fn === 'maxBy' || m.fn === 'minBy') return [`${name}.${m.field}`];
    if (m.fn === 'topk') return [];
    return [name];
  });
}

/**
 * The number at `path` in a group's measures, or null. Measure names hold no dot: the path splits at the first.
 * @param {Record<string, unknown>} measures
 * @param {string} path
 */
export function valueAt(measures, path) {
  const dot = path.indexOf('.');
  let value = measures[dot < 0 ? path : path.slice(0, dot)];
  if (dot >= 0) value = value !== null && typeof value === 'object' ? value[path.slice(dot + 1)] : null;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Why GET /views/{view}/groups cannot rank this view's groups, or null when it can.
 * @param {{ name: string, window: { type: string }, measures: unknown[] }} view
 */
export function whyNoGroups(view) {
  if (view.window.type === 'session') {
    return `${view.name} has session windows, which start per group: there is no one window to rank the groups of.`;
  }
  if (numericResults(view).length === 0) return `${view.name} has no numeric result to rank groups by.`;
  return null;
}

/** @param {{ window: { type: string, size?: string | number, slide?: string | number } }} view */
export function slideMs(view) {
  const w = view.window;
  return durationMs(w.type === 'sliding' ? w.slide : w.size);
}
