/** Scoring one window of a view: which groups are scored, with what value, and which states are kept. */
import { describe, expect, it } from 'vitest';
import type { Detector } from '../../../lambdas/core/anomaly/detector.ts';
import {
  ABSENT_WINDOWS_KEPT,
  type GroupDetectorState,
  measureValue,
  scoreWindow,
} from '../../../lambdas/core/anomaly/scoring.ts';
import { normalizeConfig } from '../../../lambdas/core/config.ts';
import type { GroupResult } from '../../../lambdas/core/pane-log.ts';

const spec = (measure: string) =>
  normalizeConfig({
    views: [
      {
        name: 'v',
        groupBy: ['g'],
        window: { type: 'tumbling', size: '10s' },
        measures: [{ fn: 'count' }, { fn: 'avg', field: 'x' }, { fn: 'quantiles', field: 'x', q: [0.99] }],
        anomaly: { measure, method: 'robust' },
      },
    ],
  }).views[0]!.anomaly!;

/** A detector that remembers the values it saw and reports any value above 100, warm after one window. */
const seen: Detector<number[]> = {
  warmUpWindows: 1,
  initial: () => [],
  score: (state, value) => ({
    state: [...state, value],
    verdict: {
      score: value / 10,
      threshold: 10,
      expected: { low: 0, high: 100 },
      anomaly: value > 100,
      warm: state.length >= 1,
    },
  }),
};

const result = (g: string, count: number, measures: Record<string, unknown> = { count }): GroupResult => ({
  groupKey: JSON.stringify([g]),
  windowStart: 0,
  windowEnd: 10_000,
  count,
  measures,
});
const window = { windowStart: 0, windowEnd: 10_000, index: 0 };
const state = (values: number[], absent = 0): GroupDetectorState => ({ s: values, a: absent });

describe('scoreWindow', () => {
  it('scores a counting measure of a group with no events in the window as 0, so a dropout is seen', () => {
    const previous = new Map([['["a"]', state([50])]]);
    const out = scoreWindow(spec('count'), seen as Detector<unknown>, previous, 0, window, [result('b', 5)]);
    expect(out.states.get('["a"]')).toEqual({ s: [50, 0], a: 1 });
  });

  it('does not score an absent group on a measure that has no value without events, and keeps its state', () => {
    const previous = new Map([['["a"]', state([50])]]);
    const out = scoreWindow(spec('avg_x'), seen as Detector<unknown>, previous, 0, window, []);
    expect(out.states.get('["a"]')).toEqual({ s: [50], a: 1 });
  });

  it(`forgets a group absent for more than ${ABSENT_WINDOWS_KEPT} windows in a row`, () => {
    const previous = new Map([['["a"]', state([50], ABSENT_WINDOWS_KEPT)]]);
    expect(scoreWindow(spec('count'), seen as Detector<unknown>, previous, 0, window, []).states.size).toBe(0);
  });

  it('counts windows of the view with no data at all towards a group’s absence', () => {
    const previous = new Map([['["a"]', state([50], 0)]]);
    const out = scoreWindow(spec('avg_x'), seen as Detector<unknown>, previous, 5, window, []);
    expect(out.states.get('["a"]')!.a).toBe(6);
  });

  it('reports a warmed-up group above the threshold with its value, score and expected range, and marks its result', () => {
    const previous = new Map([['["a"]', state([50])]]);
    const out = scoreWindow(spec('count'), seen as Detector<unknown>, previous, 0, window, [
      result('a', 150),
      result('new', 500),
    ]);
    expect(out.anomalies).toEqual([
      {
        groupKey: '["a"]',
        windowStart: 0,
        windowEnd: 10_000,
        measure: 'count',
        value: 150,
        score: 15,
        expected: { low: 0, high: 100 },
      },
    ]);
    expect(out.results.map((r) => r.score?.anomaly)).toEqual([true, undefined]);
  });
});

describe('measureValue', () => {
  it('reads one quantile of a quantiles measure, and nothing from a missing one', () => {
    const r = result('a', 3, { count: 3, quantiles_x: { '0.99': 7.5 } });
    expect(measureValue(spec('quantiles_x.0.99'), r)).toBe(7.5);
    expect(measureValue(spec('avg_x'), r)).toBeNull();
  });
});
