/**
 * A view's anomaly detector on the dashboard: the anomalies it reported lately (GET /anomalies), listed newest
 * first, and marks on the chart where a charted group's window was reported, with the range the detector
 * expected beside it.
 */
import { appendText, formatNumber, formatTime, groupLabel } from './format.js';
import { valueAt } from './views.js';

/** Anomalies listed: the newest ones. */
export const LISTED_ANOMALIES = 20;
/** Pages of GET /anomalies read per refresh: it lists oldest first, so the newest are on the last page. */
const MAX_PAGES = 5;

/**
 * The detector's result name when it is the one charted (only then do its values sit on the chart's lines).
 * @param {{ anomaly?: { measure: string } }} view the view as GET /views gives it
 */
export function detectorMeasure(view) {
  return view.anomaly?.measure ?? null;
}

/**
 * Every anomaly of `view` whose window starts at or after `from` (epoch ms), oldest first.
 * @param {import('./api.js').Api} api
 */
export async function readAnomalies(api, view, from) {
  const anomalies = [];
  let cursor;
  for (let page = 0; page < MAX_PAGES; page++) {
    const reply = await api.get('anomalies', { view: view.name, from, limit: 1000, ...(cursor ? { cursor } : {}) });
    anomalies.push(...reply.anomalies);
    cursor = reply.nextCursor;
    if (!cursor) break;
  }
  return anomalies;
}

/** `count 100, expected 15–25 (score 9.1)`: what a marker's title and a list row say. */
export function describeAnomaly(a) {
  return `${a.measure} ${formatNumber(a.value)}, expected ${formatNumber(a.expected.low)}–${formatNumber(a.expected.high)} (score ${a.score.toFixed(1)})`;
}

/**
 * The list, newest first.
 * @param {Array<any>} anomalies oldest first, as GET /anomalies gives them
 * @param {Map<string, string>} colors a charted group's colour by its label
 * @param {string} since what the list covers, e.g. `the last 60 windows`
 */
export function renderAnomalyList(anomalies, colors, since) {
  const newest = anomalies.slice(-LISTED_ANOMALIES).reverse();
  const rows = newest.map((a) => {
    const tr = document.createElement('tr');
    const start = Date.parse(a.windowStart);
    appendText(tr, 'td', `${formatTime(start)}–${formatTime(Date.parse(a.windowEnd))}`);
    const label = groupLabel(a.group);
    const group = appendText(tr, 'td', '', 'group');
    const color = colors.get(label);
    if (color) {
      const swatch = appendText(group, 'span', '', 'swatch');
      swatch.style.background = color;
    }
    group.append(label);
    group.title = label;
    const above = a.value > a.expected.high;
    appendText(tr, 'td', `${above ? '▲' : '▼'} ${formatNumber(a.value)}`, 'num anomalous');
    appendText(tr, 'td', `${formatNumber(a.expected.low)}–${formatNumber(a.expected.high)}`, 'num');
    appendText(tr, 'td', a.score.toFixed(1), 'num');
    tr.title = `${label}, window ${a.windowStart}: ${describeAnomaly(a)}`;
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    appendText(tr, 'td', `No anomaly reported in ${since}.`).colSpan = 5;
    rows.push(tr);
  }
  document.getElementById('anomalies').replaceChildren(...rows);
  const more = anomalies.length - newest.length;
  document.getElementById('anomalies-count').textContent =
    anomalies.length === 0 ? '' : `${anomalies.length} in ${since}${more > 0 ? `, newest ${newest.length} shown` : ''}`;
}

/**
 * The reported windows of the charted series, from their results' `anomaly`: what the chart marks.
 * @param {Array<{ results: Array<any> }>} histories one per series, in series order
 * @param {string[]} labels
 * @param {string} measure the charted result
 * @returns {Array<{ series: number, x: number, value: number, low: number, high: number, title: string }>}
 */
export function anomalyMarks(histories, labels, measure) {
  return histories.flatMap((h, i) =>
    h.results
      .filter((r) => r.anomaly?.reported)
      .map((r) => {
        const value = valueAt(r.measures, measure);
        const a = { measure, value, score: r.anomaly.score, expected: r.anomaly.expected };
        return {
          series: i + 1,
          x: Date.parse(r.windowStart) / 1000,
          value,
          low: r.anomaly.expected.low,
          high: r.anomaly.expected.high,
          title: `${labels[i]} at ${formatTime(Date.parse(r.windowStart))} UTC: ${describeAnomaly(a)}`,
        };
      })
      .filter((m) => m.value !== null),
  );
}

/**
 * Places the marks over the plot (uPlot's `over` element, so they take the pointer for their titles): a ring
 * on the window's point and, beside it, a bar over the range the detector expected. A series switched off in
 * the legend loses its marks.
 * @param {import('./vendor/uplot/uPlot.esm.js').default} u
 * @param {ReturnType<typeof anomalyMarks>} marks
 */
export function placeAnomalyMarks(u, marks) {
  const elements = marks
    .filter((m) => u.series[m.series]?.show !== false)
    .flatMap((m) => {
      const x = u.valToPos(m.x, 'x');
      const y = u.valToPos(m.value, 'y');
      const top = u.valToPos(m.high, 'y');
      const bottom = u.valToPos(m.low, 'y');
      const range = document.createElement('div');
      range.className = 'anomaly-range';
      range.style.left = `${x - 4}px`;
      range.style.top = `${Math.min(top, bottom)}px`;
      range.style.height = `${Math.max(2, Math.abs(bottom - top))}px`;
      range.title = `expected ${formatNumber(m.low)}–${formatNumber(m.high)}`;
      const ring = document.createElement('div');
      ring.className = 'anomaly-marker';
      ring.style.left = `${x}px`;
      ring.style.top = `${y}px`;
      ring.title = m.title;
      return [range, ring];
    });
  let layer = u.over.querySelector('.anomaly-marks');
  if (!layer) {
    layer = document.createElement('div');
    layer.className = 'anomaly-marks';
    u.over.append(layer);
  }
  layer.replaceChildren(...elements);
}
