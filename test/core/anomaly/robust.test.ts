import { describe, expect, it } from 'vitest';
import type { Detector } from '../../../lambdas/core/anomaly/detector.ts';
import { robustDetector, STATE_BYTES_BOUND, WARM_UP_WINDOWS } from '../../../lambdas/core/anomaly/robust.ts';
import { mulberry32 } from '../../../lambdas/core/random.ts';

/** Counts of about 500 a window with an hourly pattern (12 windows) and Poisson-like noise; the same every run. */
function counts(windows: number, seed = 7): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: windows }, (_, t) => {
    const mean = 500 * (1 + 0.1 * Math.sin((2 * Math.PI * t) / 12));
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.round(mean + Math.sqrt(mean) * gaussian);
  });
}

/** The windows reported when `values` are scored in order from the initial state. */
function reported<S>(detector: Detector<S>, values: readonly number[]): number[] {
  let state = detector.initial();
  const out: number[] = [];
  values.forEach((value, t) => {
    const scored = detector.score(state, value);
    state = scored.state;
    if (scored.verdict.anomaly) out.push(t);
  });
  return out;
}

describe('robust detector', () => {
  it('reports nothing during warm-up, however wild the values', () => {
    // GIVEN values jumping between 10 and 10,000
    const values = Array.from({ length: WARM_UP_WINDOWS }, (_, t) => (t % 2 === 0 ? 10 : 10_000));
    // THEN none of the warm-up windows is reported
    expect(reported(robustDetector({ season: 12 }), values)).toEqual([]);
  });

  it('reports a spike in its own window and not in the windows after it', () => {
    const values = counts(300);
    values[200] = values[200]! * 2;
    expect(reported(robustDetector({ season: 12 }), values)).toEqual([200]);
  });

  it('reports a level shift at its start and not again at the new level', () => {
    const values = counts(400).map((v, t) => (t >= 200 ? Math.round(v * 1.4) : v));
    expect(reported(robustDetector({ season: 12 }), values)).toEqual([200]);
  });

  it('reports a dropout to 0 once, and not the return to the old level', () => {
    const values = counts(300).map((v, t) => (t >= 200 && t < 204 ? 0 : v));
    expect(reported(robustDetector({ season: 12 }), values)).toEqual([200]);
  });

  it('gives the same verdict and state from a state round-tripped through JSON', () => {
    // GIVEN the state after 250 windows, one of them a spike
    const detector = robustDetector({ season: 12 });
    const values = counts(251);
    values[240] = 2_000;
    let state = detector.initial();
    for (const value of values.slice(0, 250)) state = detector.score(state, value).state;
    // WHEN the next window is scored from it and from its JSON copy
    const direct = detector.score(state, values[250]!);
    const copied = detector.score(JSON.parse(JSON.stringify(state)), values[250]!);
    // THEN both give the same result
    expect(copied).toEqual(direct);
  });

  it('keeps its state under the documented bound after 10,000 windows', () => {
    for (const season of [0, 12, 1440]) {
      const detector = robustDetector({ season });
      let state = detector.initial();
      for (const value of counts(10_000, season)) state = detector.score(state, value).state;
      expect(Buffer.byteLength(JSON.stringify(state))).toBeLessThanOrEqual(STATE_BYTES_BOUND);
    }
  });
});
