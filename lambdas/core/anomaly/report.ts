/**
 * An anomaly as people and programs see it, in one shape everywhere: GET /anomalies, the results bus's
 * `Eddy Anomaly` events, the Alerts topic's messages, and locally the printed line and the webhook's body.
 */
import { groupObject, groupValuesOfKey } from '../group.ts';
import type { WindowScore } from '../pane-log.ts';
import type { StoredAnomaly } from '../store.ts';

export interface AnomalyReport {
  readonly view: string;
  readonly group: Record<string, string | null>;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly measure: string;
  readonly value: number;
  readonly score: number;
  readonly expected: { readonly low: number; readonly high: number };
  readonly detectedAt: string;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * A scored window's `anomaly` field, next to its measures (GET /views/{view}/results, `Eddy Window Result`):
 * nothing when the window was not scored.
 */
export function windowScoreField(score: WindowScore | undefined) {
  return score ? { anomaly: { score: score.score, expected: score.expected, reported: score.anomaly } } : {};
}

export function anomalyReport(a: StoredAnomaly): AnomalyReport {
  return {
    view: a.view,
    group: groupObject({ groupBy: a.groupBy }, groupValuesOfKey(a.groupKey)),
    windowStart: iso(a.windowStart),
    windowEnd: iso(a.windowEnd),
    measure: a.measure,
    value: a.value,
    score: a.score,
    expected: a.expected,
    detectedAt: iso(a.detectedAt),
  };
}

/** Unique per (view, group, window): consumers drop repeats by it (alerts are delivered at least once). */
export function anomalyId(a: StoredAnomaly): string {
  return `${a.view}/${a.groupKey}/${a.windowStart}`;
}

const number = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, ''));

/**
 * One line for a person: `anomaly bids_per_auction auction=5003 2026-11-24T10:00:00Z+10s: count 250, expected
 * 80..120 (score 9.1)`.
 */
export function anomalyLine(a: StoredAnomaly): string {
  const group = Object.entries(groupObject({ groupBy: a.groupBy }, groupValuesOfKey(a.groupKey)))
    .map(([field, value]) => `${field}=${value ?? 'null'}`)
    .join(' ');
  const window = `${iso(a.windowStart).replace('.000Z', 'Z')}+${(a.windowEnd - a.windowStart) / 1000}s`;
  const direction = a.value > a.expected.high ? 'above' : 'below';
  return `anomaly ${a.view}${group ? ` ${group}` : ''} ${window}: ${a.measure} ${number(a.value)} ${direction} expected ${number(a.expected.low)}..${number(a.expected.high)} (score ${number(a.score)})`;
}
