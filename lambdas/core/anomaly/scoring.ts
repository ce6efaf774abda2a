/**
 * Scoring a view's final windows, one window at a time and in window order, each group against its own
 * history. The emitter calls `scoreWindow` while it compacts a window (lambdas/aggregate/window-emitter.ts):
 * the states it starts from are the ones stored with the previous compacted window, and the states it returns
 * are stored with this one, in the same conditional writes as its results. A final window's results never
 * change and the detectors are pure, so a retried or concurrent compaction computes the very same scores and
 * states: each window is scored once in effect, whoever writes it.
 *
 * - A group seen before but without events in this window has the value 0 when the measure counts or adds
 *   (count, sum, distinct): that is how a dropout is seen. For other measures (avg, min, max, a quantile) it
 *   has no value: nothing is scored and its state waits.
 * - A group absent for ABSENT_WINDOWS_KEPT windows in a row is forgotten: if it comes back it warms up again.
 * - Windows in which no group of the view has any event are not compacted, so they are not scored: a silence of
 *   the whole stream is what the pipeline's alarms report (incoming records, watermark lag).
 */
import type { AnomalySpec } from '../config.ts';
import type { GroupResult, WindowScore } from '../pane-log.ts';
import type { Detector } from './detector.ts';
import { rcfDetector } from './rcf.ts';
import { robustDetector } from './robust.ts';

/** Windows in a row a group may have no events before its detector state is dropped. */
export const ABSENT_WINDOWS_KEPT = 64;

/** What is stored per group: the detector's state and how many windows in a row the group was absent. */
export interface GroupDetectorState {
  readonly s: unknown;
  readonly a: number;
}

/** A window reported as an anomaly. */
export interface ScoredAnomaly {
  readonly groupKey: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly measure: string;
  readonly value: number;
  readonly score: number;
  readonly expected: { readonly low: number; readonly high: number };
}

export interface WindowScoring {
  readonly states: Map<string, GroupDetectorState>;
  /** Results with their window's score (the groups scored), in the order given. */
  readonly results: GroupResult[];
  readonly anomalies: ScoredAnomaly[];
}

/** The view's detector, built from its config. */
export function createDetector(spec: AnomalySpec): Detector<unknown> {
  const detector =
    spec.method === 'rcf'
      ? rcfDetector({ sensitivity: spec.sensitivity, ...(spec.shingle === null ? {} : { shingle: spec.shingle }) })
      : robustDetector({ sensitivity: spec.sensitivity, season: spec.seasonWindows });
  return detector as Detector<unknown>;
}

/**
 * Identifies the detector's settings: stored states are used only by a detector with the same signature (a
 * changed config starts over, with a warm-up, rather than read a state of another shape).
 */
export function detectorSignature(spec: AnomalySpec): string {
  return [
    `v${DETECTOR_VERSIONS[spec.method]}`,
    spec.measure,
    spec.method,
    spec.sensitivity,
    spec.shingle ?? '-',
    spec.seasonWindows,
  ].join('|');
}

/**
 * Each method's version: bump it when the method's state or scoring changes, so states of the old code are not
 * read by the new (a deploy then warms the detector up again, rather than score from a state it misreads).
 */
const DETECTOR_VERSIONS: Readonly<Record<AnomalySpec['method'], number>> = { robust: 1, rcf: 1 };

/** The scalar the detector scores, from one group's result; null when there is none. */
export function measureValue(spec: AnomalySpec, result: GroupResult | undefined): number | null {
  if (!result) return spec.zeroWhenAbsent ? 0 : null;
  const value = result.measures[spec.result];
  const scalar = spec.quantile === null ? value : (value as Record<string, unknown> | null)?.[spec.quantile];
  return typeof scalar === 'number' && Number.isFinite(scalar) ? scalar : null;
}

/**
 * Scores one window: every group with a result, and every group with a state that has none (see above).
 * `skipped` is how many windows of the view passed since the previous scored one with no data at all;
 * `window.index` is the window's number (start / slide), from which seasonal detectors take their phase.
 */
export function scoreWindow(
  spec: AnomalySpec,
  detector: Detector<unknown>,
  previous: ReadonlyMap<string, GroupDetectorState>,
  skipped: number,
  window: { readonly windowStart: number; readonly windowEnd: number; readonly index: number },
  results: readonly GroupResult[],
): WindowScoring {
  const states = new Map<string, GroupDetectorState>();
  const anomalies: ScoredAnomaly[] = [];
  const byGroup = new Map(results.map((r) => [r.groupKey, r]));
  const groups = new Set([...previous.keys(), ...byGroup.keys()]);
  const scores = new Map<string, WindowScore>();
  for (const groupKey of groups) {
    const result = byGroup.get(groupKey);
    const before = previous.get(groupKey);
    const absent = result ? 0 : (before?.a ?? 0) + skipped + 1;
    if (absent > ABSENT_WINDOWS_KEPT) continue;
    const value = measureValue(spec, result);
    if (value === null) {
      if (before) states.set(groupKey, { s: before.s, a: absent });
      continue;
    }
    const { state, verdict } = detector.score(before?.s ?? detector.initial(), value, window.index);
    states.set(groupKey, { s: state, a: absent });
    if (!verdict.warm) continue;
    const score = { score: round(verdict.score), expected: roundRange(verdict.expected), anomaly: verdict.anomaly };
    scores.set(groupKey, score);
    if (verdict.anomaly) {
      anomalies.push({
        groupKey,
        windowStart: window.windowStart,
        windowEnd: window.windowEnd,
        measure: spec.measure,
        value,
        score: score.score,
        expected: score.expected,
      });
    }
  }
  return {
    states,
    results: results.map((r) => {
      const score = scores.get(r.groupKey);
      return score ? { ...r, score } : r;
    }),
    anomalies,
  };
}

/** Scores are shown, not computed with: 4 significant digits are plenty and keep the stored rows short. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

function roundRange(r: { readonly low: number; readonly high: number }) {
  return { low: Number(r.low.toPrecision(6)), high: Number(r.high.toPrecision(6)) };
}
