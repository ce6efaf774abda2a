import { describe, expect, it } from 'vitest';
import type { Detector } from '../../../lambdas/core/anomaly/detector.ts';
import { type RcfState, rcfDetector, STATE_BYTES } from '../../../lambdas/core/anomaly/rcf.ts';
import { mulberry32 } from '../../../lambdas/core/random.ts';

/** Counts per 5-minute window: a daily and an hourly wave around `base`, with Poisson-like noise. */
function seasonal(windows: number, seed = 7, base = 600): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: windows }, (_, t) => {
    const mean = base * (1 + 0.35 * Math.sin((2 * Math.PI * t) / 288) + 0.08 * Math.sin((2 * Math.PI * t) / 12));
    return Math.round(mean + Math.sqrt(mean) * 1.5 * (random() + random() + random() - 1.5) * 2);
  });
}

/** The windows reported, scoring `values` in order from the initial state. */
function reports(detector: Detector<RcfState>, values: readonly number[]): number[] {
  let state = detector.initial();
  const reported: number[] = [];
  values.forEach((value, t) => {
    const out = detector.score(state, value);
    state = out.state;
    if (out.verdict.anomaly) reported.push(t);
  });
  return reported;
}

describe('rcf detector', () => {
  it('reports nothing during warm-up, however wild the values', () => {
    const detector = rcfDetector();
    const values = seasonal(detector.warmUpWindows).map((v, t) => (t % 10 === 9 ? v * 5 : t % 10 === 4 ? 0 : v));

    expect(reports(detector, values)).toEqual([]);
  });

  it('reports a spike on a seasonal series once, not in the windows whose shingles hold it', () => {
    const values = seasonal(340);
    values[300] = values[300]! * 2;

    expect(reports(rcfDetector(), values)).toEqual([300]);
  });

  it('reports a level shift at its start and not again', () => {
    const values = seasonal(400).map((v, t) => (t >= 300 ? v + 300 : v));

    expect(reports(rcfDetector(), values)).toEqual([300]);
  });

  it('gives the same verdict and state for the same value from a JSON round-tripped state', () => {
    const detector = rcfDetector();
    let state = detector.initial();
    for (const value of seasonal(200)) state = detector.score(state, value).state;
    const stored = JSON.parse(JSON.stringify(state)) as RcfState;

    const first = detector.score(state, 1234);
    const retried = rcfDetector().score(stored, 1234);

    expect(retried).toEqual(first);
  });

  it(`keeps the state under ${STATE_BYTES} bytes of JSON after 5,000 windows of 17-digit doubles`, () => {
    // Negative doubles with an exponent take the most characters; the spikes and steps fill the run too. Ten
    // trees (the fewest) keep the test fast: the number of trees does not change what is stored.
    const detector = rcfDetector({ trees: 10 });
    const random = mulberry32(11);
    let state = detector.initial();
    let largest = 0;
    for (let t = 0; t < 5_000; t++) {
      const shape = 1.5 + 0.3 * Math.sin((2 * Math.PI * t) / 12) + 0.05 * random() + (t % 500 > 450 ? 1 : 0);
      state = detector.score(state, -1.2345678901234567e100 * (t % 97 === 0 ? 3 * shape : shape)).state;
      largest = Math.max(largest, JSON.stringify(state).length);
    }

    expect(largest).toBeLessThanOrEqual(STATE_BYTES);
  });
});
