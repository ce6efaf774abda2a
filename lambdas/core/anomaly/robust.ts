/**
 * `robust`: a cheap detector for any number of groups. It predicts each window from a few numbers and reports
 * a value that is many typical errors away from the prediction.
 *
 * - **Scale.** Values are compared as asinh(value): like a logarithm above 1 (so +50% is the same step for a
 *   group of 100 a window as for one of 100,000, and a drop to 0 is a long way down) but defined at 0 and below.
 * - **Prediction.** A level and a slope (Holt's linear trend: follows a daily curve without lagging behind it),
 *   plus with `season` a seasonal offset interpolated between at most 24 buckets of the season (`season: 12`,
 *   an hourly pattern in 5-minute windows, is learnt window by window; `season: 288`, a daily one, hour by hour).
 *   Errors are clipped at 3 typical errors before they are learnt, so an ordinary outlier moves little.
 * - **Typical error.** 1.25 × the moving mean absolute prediction error (σ for normal errors), never below 1%,
 *   nor for counts below Poisson noise (√x on the asinh scale is 1/√x). The score is |error| / typical error.
 * - **Threshold** by sensitivity: low 6, medium 5, high 4.5 typical errors. Medium is tuned for at most 1
 *   false alert per 1,000 windows on `npm run bench:anomaly` (tuned on other seeds than it prints).
 *
 * Conventions (see detector.ts): a window 0.6 × threshold or more off is not learnt (no echo: the level moves on
 * as predicted), so a spike is reported in its own window and not after it. Off windows on one side make a run;
 * `LEVEL_SHIFT_WINDOWS` in a row are a new level: the level is re-based on their mean and the run is reported
 * once, at its first window above the threshold or, if none was, when confirmed (a shift too small to stand out
 * in one window is reported 2 windows late). A run of zeros (an outage) is re-based only after
 * `OUTAGE_WINDOWS`, so the windows after a short dropout are expected at the old level, not reported again.
 *
 * Warm-up: `WARM_UP_WINDOWS` (24: two hours of 5-minute windows) before anything is reported; the seasonal
 * offsets keep learning after it, and until they have, the wider typical error makes the detector quieter.
 * The caller scores the group's windows in order; the season's phase is the window's number when given (the
 * emitter gives it), else the number of windows scored.
 *
 * State per group: 4 numbers (windows scored, level, slope, spread), the seasonal offsets (none, or
 * min(season, 24)), 3 more while a run is in progress, and 2 flags: at most 31 numbers, kept short (6
 * significant digits; offsets 5 decimals), at most `STATE_BYTES_BOUND` = 450 bytes as JSON (measured: about
 * 150 without a season, 260 with `season: 12`, 380 with 24 buckets).
 */
import { type Detector, LEVEL_SHIFT_WINDOWS, type Sensitivity, type Verdict } from './detector.ts';

export interface RobustOptions {
  /** How readily to report: low 6, medium 5, high 4.5 typical errors. @default 'medium' */
  readonly sensitivity?: Sensitivity;
  /** Length of a repeating pattern in windows, 0–1,440 (0: none). @default 0 */
  readonly season?: number;
}

export interface RobustState {
  /** Windows scored. */
  readonly n: number;
  /** Level on the asinh scale. */
  readonly level: number;
  /** Change of the level per window. */
  readonly slope: number;
  /** Moving mean absolute prediction error. */
  readonly spread: number;
  /** Seasonal offsets, one per bucket of the season, mean 0; empty without a season. */
  readonly season: number[];
  /** True while every value has been a non-negative integer (a count): the typical error gets a Poisson floor. */
  readonly counts: boolean;
  /** The off windows in a row so far: their side, number, sum of deseasonalized values, and whether reported. */
  readonly run: {
    readonly side: 1 | -1;
    readonly windows: number;
    readonly sum: number;
    readonly reported: boolean;
  } | null;
}

/** Windows of history before anything is reported. */
export const WARM_UP_WINDOWS = 24;
/** Zeros in a row after which an outage is taken as the new level: an hour of 5-minute windows. */
export const OUTAGE_WINDOWS = 12;
/** Upper bound of the state as JSON, in bytes (checked by the tests after 10,000 windows). */
export const STATE_BYTES_BOUND = 450;

const THRESHOLDS: Record<Sensitivity, number> = { low: 6, medium: 5, high: 4.5 };
/** Fraction of the threshold from which a window is held out of learning and counts towards a run. */
const OFF = 0.6;
const ALPHA = 0.2;
const BETA = 0.01;
const GAMMA = 0.2;
/** Rate of the moving mean absolute error: about the last 20 windows. */
const LAMBDA = 0.05;
/** Errors are clipped at this many typical errors before they are learnt. */
const CLIP = 3;
const MAX_BUCKETS = 24;
const RELATIVE_FLOOR = 0.01;

/** State numbers keep 6 significant digits, seasonal offsets 5 decimals (0.001% on the asinh scale): short JSON. */
const round = (x: number) => Number(x.toPrecision(6));
const roundOffset = (x: number) => Math.round(x * 1e5) / 1e5;

export function robustDetector(options: RobustOptions = {}): Detector<RobustState> {
  const season = options.season ?? 0;
  if (!Number.isInteger(season) || season < 0 || season > 1440) {
    throw new Error(`robust: season must be an integer from 0 to 1440 windows (given ${season})`);
  }
  const sensitivity = options.sensitivity ?? 'medium';
  const threshold = THRESHOLDS[sensitivity];
  if (threshold === undefined) {
    throw new Error(`robust: sensitivity must be 'low', 'medium' or 'high' (given ${String(sensitivity)})`);
  }
  const buckets = Math.min(season, MAX_BUCKETS);

  /** The two buckets the window at `n` falls between, and the weight of the second. */
  const phase = (n: number): [number, number, number] => {
    if (season === 0) return [0, 0, 0];
    const u = ((n % season) * buckets) / season;
    const i = Math.floor(u);
    return [i, (i + 1) % buckets, u - i];
  };

  return {
    warmUpWindows: WARM_UP_WINDOWS,
    initial: () => ({
      n: 0,
      level: 0,
      slope: 0,
      spread: 0,
      season: new Array(buckets).fill(0),
      counts: true,
      run: null,
    }),
    score(state, value, window) {
      if (!Number.isFinite(value)) throw new Error(`robust: value must be a finite number (given ${value})`);
      const y = Math.asinh(value);
      const counts = state.counts && Number.isInteger(value) && value >= 0;
      const n = state.n + 1;
      if (state.n === 0) {
        return {
          state: { ...state, n, level: round(y), counts },
          verdict: { score: 0, threshold, expected: { low: value, high: value }, anomaly: false, warm: false },
        };
      }

      const [i0, i1, w] = phase(window ?? state.n);
      const seasonal = season > 0 ? (1 - w) * state.season[i0]! + w * state.season[i1]! : 0;
      const prediction = state.level + state.slope + seasonal;
      const error = y - prediction;
      const predicted = Math.sinh(prediction);
      const poisson = counts ? Math.sqrt(Math.max(predicted, 1)) / Math.sqrt(1 + predicted ** 2) : 0;
      const scale = Math.max(1.25 * state.spread, RELATIVE_FLOOR, poisson);
      const score = Math.abs(error) / scale;
      const warm = state.n >= WARM_UP_WINDOWS;
      const expected = {
        low: Math.sinh(prediction - threshold * scale),
        high: Math.sinh(prediction + threshold * scale),
      };
      const verdict = (anomaly: boolean): Verdict => ({ score, threshold, expected, anomaly, warm });

      if (warm && score > OFF * threshold) {
        const side: 1 | -1 = error > 0 ? 1 : -1;
        const run = state.run?.side === side ? state.run : null;
        const windows = (run?.windows ?? 0) + 1;
        const sum = (run?.sum ?? 0) + (y - seasonal);
        const confirmed = windows >= (value === 0 ? OUTAGE_WINDOWS : LEVEL_SHIFT_WINDOWS);
        const report = !run?.reported && (score > threshold || confirmed);
        if (confirmed) {
          // A new level: the windows from here on are expected at the run's mean.
          return {
            state: { ...state, n, level: round(sum / windows), slope: 0, counts, run: null },
            verdict: verdict(report),
          };
        }
        // Not learnt (no echo): the level moves on as predicted until the run ends or is confirmed.
        return {
          state: {
            ...state,
            n,
            level: round(state.level + state.slope),
            counts,
            run: { side, windows, sum: round(sum), reported: report || (run?.reported ?? false) },
          },
          verdict: verdict(report),
        };
      }

      // Learn. During warm-up the level and spread are running means, so the first values do not linger.
      const warmUpRate = warm ? 0 : 1 / n;
      const alpha = Math.max(ALPHA, warmUpRate);
      const clipped = Math.max(-CLIP * scale, Math.min(CLIP * scale, error));
      let level = state.level + state.slope + alpha * clipped;
      let offsets = state.season;
      if (season > 0) {
        const gamma = GAMMA * (1 - alpha);
        const learnt = [...state.season];
        learnt[i0] = learnt[i0]! + gamma * (1 - w) * clipped;
        learnt[i1] = learnt[i1]! + gamma * w * clipped;
        // Keep the offsets at mean 0, the level carrying the rest, so the two do not drift apart.
        const mean = learnt.reduce((a, b) => a + b, 0) / buckets;
        offsets = learnt.map((o) => roundOffset(o - mean));
        level += mean;
      }
      const rate = Math.max(LAMBDA, warmUpRate);
      const spread = state.spread + rate * (Math.min(Math.abs(error), CLIP * scale) - state.spread);
      return {
        state: {
          n,
          level: round(level),
          slope: round(state.slope + BETA * clipped),
          spread: round(spread),
          season: offsets,
          counts,
          run: null,
        },
        verdict: verdict(false),
      };
    },
  };
}
