/**
 * One view at a time: a live chart of the chosen result for the top groups, the latest windows with
 * provisional and final marked, and the top groups of the current window; for a view with an anomaly
 * detector, its latest anomalies, marked on the chart too.
 *
 * Whatever the view holds (10,000 groups and more), a refresh reads at most TOP_GROUPS groups (GET
 * /views/{view}/groups?limit=...) and the recent windows of the CHARTED_GROUPS first ones (GET
 * /views/{view}/results): its cost does not grow with the number of groups on the page's side. The
 * anomalies are those of the chart's time range (GET /anomalies?from=...); the groups of the newest ones are
 * charted too (at most ANOMALOUS_GROUPS more), so that a spike is seen on its line whatever its group's rank.
 */
import {
  anomalyMarks,
  detectorMeasure,
  LISTED_ANOMALIES,
  placeAnomalyMarks,
  readAnomalies,
  renderAnomalyList,
} from './anomalies.js';
import { ApiError } from './api.js';
import { appendText, formatNumber, formatTime, groupLabel } from './format.js';
import uPlot from './vendor/uplot/uPlot.esm.js';
import { numericResults, slideMs, valueAt, whyNoGroups } from './views.js';

const TOP_GROUPS = 10;
const CHARTED_GROUPS = 5;
/** Groups charted beside the top ones because the detector reported them lately. */
const ANOMALOUS_GROUPS = 2;
/** Windows of history in the chart. */
const HISTORY_WINDOWS = 60;
const WINDOW_ROWS = 8;
const WINDOW_COLUMNS = 3;
/** The top groups', then the anomalous groups'; no red, which marks anomalies. */
const COLORS = ['#2563eb', '#dc6803', '#0f7b3f', '#9e1c8a', '#475467', '#0e9384', '#6941c6'];
const CHART_HEIGHT = 320;
const SELECTED_KEY = 'eddy.dashboard.view';

export class ViewPanel {
  /** @param {import('./api.js').Api} api */
  constructor(api) {
    this.api = api;
    this.views = [];
    this.current = null;
    this.measure = null;
    /** @type {uPlot | null} */
    this.chart = null;
    this.chartKey = '';
    /** Start (seconds) of the first provisional window in the chart, shaded; null when all are final. */
    this.provisionalFrom = null;
    /** The charted windows the detector reported (anomalies.js anomalyMarks). */
    this.marks = [];
    this.chartEl = document.getElementById('chart');
    new ResizeObserver(() => this.chart?.setSize({ width: this.chartEl.clientWidth, height: CHART_HEIGHT })).observe(
      this.chartEl,
    );
    document.getElementById('measure').addEventListener('change', (e) => {
      this.measure = e.target.value;
      localStorage.setItem(`${SELECTED_KEY}.${this.current.name}.measure`, this.measure);
      this.reset();
      this.onChange?.();
    });
  }

  /** @param {Array<any>} views the `views` of GET /views */
  setViews(views) {
    this.views = views;
    const tabs = document.getElementById('view-tabs');
    tabs.replaceChildren(
      ...views.map((view) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.role = 'tab';
        button.textContent = view.name;
        button.dataset.view = view.name;
        button.addEventListener('click', () => {
          this.select(view.name);
          this.onChange?.();
        });
        return button;
      }),
    );
    const saved = localStorage.getItem(SELECTED_KEY);
    this.select(views.some((v) => v.name === saved) ? saved : views[0]?.name);
  }

  /** @param {string | undefined} name */
  select(name) {
    this.current = this.views.find((v) => v.name === name) ?? null;
    if (!this.current) return;
    localStorage.setItem(SELECTED_KEY, this.current.name);
    for (const tab of document.querySelectorAll('#view-tabs button')) {
      tab.setAttribute('aria-selected', String(tab.dataset.view === this.current.name));
    }
    const results = numericResults(this.current);
    const saved = localStorage.getItem(`${SELECTED_KEY}.${this.current.name}.measure`);
    this.measure = results.includes(saved) ? saved : results.includes('count') ? 'count' : (results[0] ?? null);
    const select = document.getElementById('measure');
    select.replaceChildren(
      ...results.map((r) => {
        const option = document.createElement('option');
        option.value = r;
        option.textContent = r;
        return option;
      }),
    );
    select.value = this.measure ?? '';
    select.disabled = results.length === 0;
    this.reset();
  }

  /** Clears what belongs to the previous view or measure. */
  reset() {
    this.chart?.destroy();
    this.chart = null;
    this.chartKey = '';
    document.getElementById('top-groups').replaceChildren();
    document.getElementById('windows').replaceChildren();
    document.getElementById('windows-head').replaceChildren();
    document.getElementById('top-measure').textContent = this.measure ?? 'Value';
    document.getElementById('view-window').textContent = '';
    const detector = this.current ? detectorMeasure(this.current) : null;
    document.getElementById('anomalies-panel').hidden = detector === null;
    document.getElementById('anomalies').replaceChildren();
    document.getElementById('anomalies-count').textContent = '';
    document.getElementById('anomalies-detector').textContent =
      detector === null ? '' : `${this.current.anomaly.method} detector on ${detector}`;
    document.getElementById('chart-anomaly-key').hidden = detector === null;
    const why = this.current ? whyNoGroups(this.current) : null;
    this.note(why);
  }

  /** @param {string | null} text */
  note(text) {
    const el = document.getElementById('view-note');
    el.hidden = text === null;
    el.textContent = text ?? '';
  }

  async refresh() {
    const view = this.current;
    const measure = this.measure;
    if (!view || whyNoGroups(view) !== null) return;
    const stale = () => this.current !== view || this.measure !== measure;
    let page;
    try {
      page = await this.api.get(`views/${encodeURIComponent(view.name)}/groups`, {
        window: 'latest',
        orderBy: measure,
        limit: TOP_GROUPS,
      });
    } catch (err) {
      // The API's own refusal of this view (not of the connection) belongs on the view.
      if (err instanceof ApiError && err.status === 400 && !stale()) return this.note(err.message);
      throw err;
    }
    if (stale()) return;
    if (page.windowStart === null) {
      this.note('No watermark yet: the pipeline has not processed any event (or a shard holds it back).');
      return;
    }
    this.note(null);
    const start = Date.parse(page.windowStart);
    const state = page.final ? 'final' : 'provisional';
    document.getElementById('view-window').textContent =
      `current window ${formatTime(start)}–${formatTime(Date.parse(page.windowEnd))} UTC, ${state}`;
    const top = page.groups.slice(0, CHARTED_GROUPS);
    const from = start - HISTORY_WINDOWS * slideMs(view);
    const anomalies = detectorMeasure(view) === null ? null : await readAnomalies(this.api, view, from);
    if (stale()) return;
    const charted = [...top, ...anomalousGroups(anomalies ?? [], top)];
    const histories = await Promise.all(
      charted.map((g) =>
        this.api.get(`views/${encodeURIComponent(view.name)}/results`, { ...groupParams(g.group), from, limit: 1000 }),
      ),
    );
    if (stale()) return;
    // All three from the same reads, so colors and ranks agree.
    this.renderTop(page.groups, measure, top.length);
    const labels = charted.map((g) => groupLabel(g.group));
    this.marks = measure === detectorMeasure(view) ? anomalyMarks(histories, labels, measure) : [];
    this.renderChart(view, measure, labels, histories);
    this.renderWindows(measure, charted, histories);
    if (anomalies !== null) {
      const colors = new Map(labels.map((label, i) => [label, COLORS[i]]));
      renderAnomalyList(anomalies, colors, `the last ${HISTORY_WINDOWS} windows`);
    }
  }

  renderTop(groups, measure, charted) {
    const values = groups.map((g) => valueAt(g.measures, measure));
    const max = Math.max(0, ...values.filter((v) => v !== null));
    const rows = groups.map((g, i) => {
      const tr = document.createElement('tr');
      appendText(tr, 'td', String(i + 1), 'num');
      const label = appendText(tr, 'td', '', 'group');
      if (i < charted) swatch(label, COLORS[i]);
      label.append(groupLabel(g.group));
      label.title = groupLabel(g.group);
      appendText(tr, 'td', formatNumber(values[i]), 'num');
      const barCell = appendText(tr, 'td', '');
      const bar = appendText(barCell, 'div', '', 'bar');
      bar.style.width = `${max > 0 && values[i] !== null ? Math.max(1, (values[i] / max) * 100) : 0}%`;
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      appendText(tr, 'td', 'No event in the current window yet.').colSpan = 4;
      rows.push(tr);
    }
    document.getElementById('top-groups').replaceChildren(...rows);
  }

  renderChart(view, measure, labels, histories) {
    const starts = [...new Set(histories.flatMap((h) => h.results.map((r) => Date.parse(r.windowStart))))].sort(
      (a, b) => a - b,
    );
    const index = new Map(starts.map((s, i) => [s, i]));
    const ys = histories.map((h) => {
      const y = new Array(starts.length).fill(null);
      for (const r of h.results) y[index.get(Date.parse(r.windowStart))] = valueAt(r.measures, measure);
      return y;
    });
    const provisional = histories.flatMap((h) =>
      h.results.filter((r) => !r.final).map((r) => Date.parse(r.windowStart)),
    );
    this.provisionalFrom = provisional.length > 0 ? Math.min(...provisional) / 1000 : null;
    const data = [starts.map((s) => s / 1000), ...ys];
    const key = JSON.stringify([view.name, measure, labels]);
    if (this.chart && this.chartKey === key) {
      this.chart.setData(data);
      return;
    }
    this.chart?.destroy();
    this.chartKey = key;
    this.chart = new uPlot(
      {
        width: this.chartEl.clientWidth || 600,
        height: CHART_HEIGHT,
        // Room on the right for the last time label.
        padding: [12, 28, 0, 0],
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        series: [
          { label: 'window start (UTC)' },
          ...labels.map((label, i) => ({ label, stroke: COLORS[i], width: 2, points: { size: 5 } })),
        ],
        axes: [
          { space: 70, values: (_u, splits) => splits.map((s) => formatTime(s * 1000)) },
          { label: measure, size: 60 },
        ],
        hooks: {
          drawClear: [(u) => this.shadeProvisional(u)],
          // After every redraw (new data, a resize, a series switched off): the marks follow the scales.
          draw: [(u) => placeAnomalyMarks(u, this.marks)],
        },
      },
      data,
      this.chartEl,
    );
  }

  /** Shades the windows whose results may still change: from the first provisional one to the right edge. */
  shadeProvisional(u) {
    if (this.provisionalFrom === null) return;
    const left = Math.max(u.bbox.left, u.valToPos(this.provisionalFrom, 'x', true));
    const right = u.bbox.left + u.bbox.width;
    if (left >= right) return;
    u.ctx.save();
    u.ctx.fillStyle = 'rgba(180, 83, 9, 0.08)';
    u.ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    u.ctx.restore();
  }

  renderWindows(measure, charted, histories) {
    const columns = charted.slice(0, WINDOW_COLUMNS).map((g) => g.group);
    const head = document.getElementById('windows-head');
    const headCells = [document.createElement('th'), document.createElement('th')];
    headCells[0].textContent = 'Window (UTC)';
    headCells[1].textContent = 'State';
    columns.forEach((group, i) => {
      const th = document.createElement('th');
      th.className = 'num group';
      swatch(th, COLORS[i]);
      // The values alone (the colour ties the column to the chart); the field names are in the title.
      const values = Object.values(group);
      th.append(values.length === 0 ? 'all events' : values.map((v) => v ?? '∅').join(', '));
      th.title = `${groupLabel(group)}: ${measure}`;
      headCells.push(th);
    });
    head.replaceChildren(...headCells);

    const windows = new Map();
    histories.forEach((h, col) => {
      for (const r of h.results) {
        const start = Date.parse(r.windowStart);
        const w = windows.get(start) ?? {
          start,
          end: Date.parse(r.windowEnd),
          final: r.final,
          values: [],
          reported: [],
        };
        w.final &&= r.final;
        w.values[col] = valueAt(r.measures, measure);
        w.reported[col] = r.anomaly?.reported === true;
        windows.set(start, w);
      }
    });
    const rows = [...windows.values()]
      .sort((a, b) => b.start - a.start)
      .slice(0, WINDOW_ROWS)
      .map((w) => {
        const tr = document.createElement('tr');
        appendText(tr, 'td', `${formatTime(w.start)}–${formatTime(w.end)}`);
        const state = appendText(tr, 'td', '');
        appendText(state, 'span', w.final ? 'final' : 'provisional', `badge ${w.final ? 'final' : 'provisional'}`);
        columns.forEach((_, i) => {
          const td = appendText(tr, 'td', formatNumber(w.values[i]), w.reported[i] ? 'num anomalous' : 'num');
          if (w.reported[i]) td.title = 'reported by the anomaly detector';
        });
        return tr;
      });
    document.getElementById('windows').replaceChildren(...rows);
  }
}

/**
 * The groups of the newest anomalies that are not among `top`, newest first, at most ANOMALOUS_GROUPS, in the
 * shape of GET /groups' entries.
 */
function anomalousGroups(anomalies, top) {
  const seen = new Set(top.map((g) => groupLabel(g.group)));
  const groups = [];
  for (const a of anomalies.slice(-LISTED_ANOMALIES).reverse()) {
    const label = groupLabel(a.group);
    if (seen.has(label)) continue;
    seen.add(label);
    groups.push({ group: a.group });
    if (groups.length === ANOMALOUS_GROUPS) break;
  }
  return groups;
}

/** The query parameters that name a group for /results: a null value is left out (the null group). */
function groupParams(group) {
  return Object.fromEntries(Object.entries(group).filter(([, value]) => value !== null));
}

function swatch(parent, color) {
  const el = appendText(parent, 'span', '', 'swatch');
  el.style.background = color;
}
