/** How numbers, times and groups read on the dashboard. Times are UTC, as the API gives them. */
const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** @param {unknown} value */
export function formatNumber(value) {
  return typeof value === 'number' && Number.isFinite(value) ? number.format(value) : '–';
}

/** @param {number} ms epoch milliseconds */
export function formatTime(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}

/** @param {number} ms a duration */
export function formatDuration(ms) {
  const s = ms / 1000;
  if (Math.abs(s) < 60) return `${s.toFixed(1)} s`;
  if (Math.abs(s) < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/**
 * `auction=a1`, `channel=web, state=OR`; the one group of a view without groupBy is `all events`; a missing
 * field is the null group.
 * @param {Record<string, string | null>} group
 */
export function groupLabel(group) {
  const entries = Object.entries(group);
  if (entries.length === 0) return 'all events';
  return entries.map(([field, value]) => `${field}=${value ?? '∅'}`).join(', ');
}

/**
 * Sets a cell's text; a single place so no value from an event is ever parsed as HTML.
 * @param {HTMLElement} parent
 * @param {string} tag
 * @param {string} text
 * @param {string} [className]
 */
export function appendText(parent, tag, text, className) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  parent.append(el);
  return el;
}
