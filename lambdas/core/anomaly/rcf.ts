/**
 * `rcf`: Robust Random Cut Forest (Guha, Mishra, Roy, Schrijvers, ICML 2016), the method Kinesis Data
 * Analytics exposed as RANDOM_CUT_FOREST, for views with few groups.
 *
 * Points. Each window's value is shingled with the `shingle − 1` values before it into a point, so the forest
 * compares shapes (where in an hourly wave a value falls), not just levels. The forest sees each shingle
 * relative to the mean of its first `shingle − 1` values (as the AWS library's moving-average transform does):
 * the last coordinate is then the change from the recent level and the others the recent shape, so a daily
 * curve or a trend does not make every new point look new.
 *
 * Score. The forest is a sliding window of the last `sampleSize` points (the paper's streaming sample) and the
 * new point. A random cut tree over a set picks a dimension in proportion to its range and a uniform cut in it,
 * and recurses on both sides; the score of the new point is its collusive displacement (CoDisp): the largest
 * ratio, over the subtrees holding it, of the sibling's size to the subtree's, averaged over the trees. Only the
 * new point's CoDisp is needed, so each tree is drawn only along the new point's path (the other side of a cut
 * is never split): O(sampleSize × shingle) per tree, not O(sampleSize × depth). The trees are drawn afresh
 * every window from a seed derived from the window count, so the forest is a pure function of the stored state:
 * a retry, in this process or another, scores the same. (A tree drawn top-down over a set has the distribution
 * of the paper's insert-built tree over it, so nothing is lost by not storing the trees.)
 *
 * Expected range. The `NEIGHBOURS` sample points whose first `shingle − 1` coordinates are nearest the new
 * point's (the same recent shape) give, by their last coordinate, the change that followed that shape: the
 * prediction is the recent level plus their median change. The typical change is the robust standard deviation
 * (MAD × 1.4826) of the last coordinate over the whole sample, at least `scaleFloor` of the level, and the
 * expected range is the prediction ± `range` typical changes (`THRESHOLDS`, by sensitivity).
 *
 * Verdict. A CoDisp has no fixed scale (it depends on the sample and the shape of the data), so the new score is
 * compared with the scores of the last `SCORE_HISTORY` windows: the threshold is their median plus `score`
 * robust standard deviations (at least a tenth of the median). A value is reported when the forest isolates it
 * (score above the threshold) and it is outside the expected range, so a shape that is merely rare around an
 * ordinary value does not alert; or when it and the window before are both more than `pair` typical changes
 * from their predictions on the same side, a level shift too small to isolate in one window.
 *
 * No echo, level shifts: an anomaly is learnt as its prediction, so the shingles after a spike hold the
 * prediction, not the spike. A run of anomalies goes on while the values stay outside the expected range on its
 * side; when it becomes a new level (`continueRun`), the whole history is moved by the run's median distance
 * from its predictions and the run's values replace their stand-ins: the shape is kept at the new level and
 * the shingles across the step are not new shapes; a run of zeros (an outage) only after `OUTAGE_WINDOWS`, as
 * in `robust`, so the recovery from a short dropout is not reported as a shift.
 *
 * State per group: the last `sampleSize + shingle − 1` learnt values, the last `SCORE_HISTORY` scores (3
 * decimals), the last deviation, the window count and the run in progress (at most `LEVEL_SHIFT_WINDOWS − 1`
 * values, or `OUTAGE_WINDOWS − 1` zeros): 135 + 64 + 2 numbers and a short run with the defaults. As JSON that is about 1.3 KB for
 * counts below 100,000, and at most `STATE_BYTES` (4,200 bytes) for any doubles (25 characters each at
 * worst); `test/core/anomaly/rcf.test.ts` checks the bound.
 *
 * Warm-up: `shingle − 1 + sampleSize / 2` windows (71, about 6 hours of 5-minute windows, with the defaults):
 * half the sample, and enough scores for the threshold.
 */
import { mulberry32 } from '../random.ts';
import {
  type AnomalyRun,
  continueRun,
  type Detector,
  median,
  robustScale,
  type Sensitivity,
  scaleFloor,
} from './detector.ts';
import { OUTAGE_WINDOWS } from './robust.ts';

/**
 * What makes an anomaly, per sensitivity: the score more than `score` robust standard deviations above the
 * median of recent scores, and the value more than `range` typical changes from its prediction.
 */
const THRESHOLDS: Record<Sensitivity, { readonly score: number; readonly range: number; readonly pair: number }> = {
  low: { score: 5, range: 4.5, pair: 3 },
  medium: { score: 4, range: 3.5, pair: 2 },
  high: { score: 3, range: 3, pair: 2 },
};

/** The most bytes of JSON the state takes with the default options (see the header). */
export const STATE_BYTES = 4200;

/** Scores of past windows the threshold is taken over. */
const SCORE_HISTORY = 64;

/** Sample points the expected range is taken from. */
const NEIGHBOURS = 8;

/** Fewest points before a score is computed (and stored for the threshold). */
const MIN_POINTS = 16;

export interface RcfOptions {
  /** @default 'medium' */
  readonly sensitivity?: Sensitivity;
  /** Values per point, 1–16: the shape the forest compares (8 is 40 minutes of 5-minute windows). @default 8 */
  readonly shingle?: number;
  /** Trees, 10–100. @default 30 */
  readonly trees?: number;
  /** Points in the sliding sample, 32–512. @default 128 */
  readonly sampleSize?: number;
}

export interface RcfState {
  /** The last learnt values, oldest first (an anomaly is learnt as its prediction): each `shingle` make a point. */
  readonly values: number[];
  /** The scores of the last windows, oldest first, rounded to 3 decimals. */
  readonly scores: number[];
  /** The last window's distance from its prediction in typical changes (signed, 3 decimals; 0 if reported). */
  readonly deviation: number;
  /** Windows scored. */
  readonly n: number;
  readonly run: AnomalyRun | null;
}

function checkRange(name: string, value: number, low: number, high: number): number {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new Error(`rcf ${name} must be an integer between ${low} and ${high} inclusive (given ${value})`);
  }
  return value;
}

/** Scratch space for scoring, reused across windows: score() is synchronous and nothing of it outlives a call. */
interface Scratch {
  readonly points: Float64Array;
  readonly order: Int32Array;
  readonly boxes: readonly [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  readonly changes: Float64Array;
  readonly nearest: Int32Array;
  readonly nearestDistances: Float64Array;
  readonly followed: Float64Array;
}

function scratch(capacity: number, dims: number): Scratch {
  const box = () => new Float64Array(dims);
  return {
    points: new Float64Array(capacity * dims),
    order: new Int32Array(capacity),
    boxes: [box(), box(), box(), box(), box(), box()],
    changes: new Float64Array(capacity),
    nearest: new Int32Array(NEIGHBOURS),
    nearestDistances: new Float64Array(NEIGHBOURS),
    followed: new Float64Array(NEIGHBOURS),
  };
}

/** The median of ascending `sorted` (not empty). */
function sortedMedian(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The forest over the first `count` points of `scratch.points` (row-major, `dims` coordinates each; the last
 * one is the new point): the new point's CoDisp averaged over `trees` trees. Each tree is drawn along the new
 * point's path only: at each cut the points on its side are moved to the front of `order` (their bounding box
 * taken on the way) and the other side is only counted.
 */
function newPointCoDisp(s: Scratch, count: number, dims: number, trees: number, random: () => number): number {
  const { points, order } = s;
  const [rootLow, rootHigh] = s.boxes;
  let [, , low, high, nextLow, nextHigh] = s.boxes;
  const query = (count - 1) * dims;
  rootLow.fill(Number.POSITIVE_INFINITY);
  rootHigh.fill(Number.NEGATIVE_INFINITY);
  for (let row = 0; row < count * dims; row += dims) {
    for (let d = 0; d < dims; d++) {
      const x = points[row + d]!;
      if (x < rootLow[d]!) rootLow[d] = x;
      if (x > rootHigh[d]!) rootHigh[d] = x;
    }
  }
  let sum = 0;
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < count; i++) order[i] = i;
    low.set(rootLow);
    high.set(rootHigh);
    let size = count;
    let best = 0;
    // A subtree of `size` points cannot displace more than size − 1: below that nothing can raise `best`.
    while (size - 1 > best) {
      let total = 0;
      for (let d = 0; d < dims; d++) total += high[d]! - low[d]!;
      // Points identical to the new one cannot be cut from it: they share its leaf.
      if (total === 0) break;
      // One uniform draw along the concatenated ranges: a dimension in proportion to its range, a uniform cut.
      let pick = random() * total;
      let dim = 0;
      while (dim < dims - 1 && pick >= high[dim]! - low[dim]!) {
        pick -= high[dim]! - low[dim]!;
        dim++;
      }
      let cut = low[dim]! + pick;
      let inside = keepSide(points, dims, order, size, dim, cut, points[query + dim]! <= cut, nextLow, nextHigh);
      if (inside === size) {
        // Rounding put the cut on an end of a tiny range: cut the widest range in the middle instead, and if
        // even that separates nothing, the points differ by rounding only and share the new point's leaf.
        dim = 0;
        for (let d = 1; d < dims; d++) if (high[d]! - low[d]! > high[dim]! - low[dim]!) dim = d;
        cut = low[dim]! + (high[dim]! - low[dim]!) / 2;
        inside = keepSide(points, dims, order, size, dim, cut, points[query + dim]! <= cut, nextLow, nextHigh);
        if (inside === size) break;
      }
      if ((size - inside) / inside > best) best = (size - inside) / inside;
      size = inside;
      const oldLow = low;
      const oldHigh = high;
      low = nextLow;
      high = nextHigh;
      nextLow = oldLow;
      nextHigh = oldHigh;
    }
    sum += best;
  }
  return sum / trees;
}

/**
 * Moves the points of order[0, size) on the new point's side of the cut (`left`: coordinate `dim` ≤ `cut`) to
 * the front, in order, writing their bounding box into `low` and `high`; returns how many there are.
 */
function keepSide(
  points: Float64Array,
  dims: number,
  order: Int32Array,
  size: number,
  dim: number,
  cut: number,
  left: boolean,
  low: Float64Array,
  high: Float64Array,
): number {
  low.fill(Number.POSITIVE_INFINITY);
  high.fill(Number.NEGATIVE_INFINITY);
  let kept = 0;
  for (let k = 0; k < size; k++) {
    const index = order[k]!;
    const row = index * dims;
    if (points[row + dim]! <= cut !== left) continue;
    order[kept++] = index;
    for (let d = 0; d < dims; d++) {
      const x = points[row + d]!;
      if (x < low[d]!) low[d] = x;
      if (x > high[d]!) high[d] = x;
    }
  }
  return kept;
}

export function rcfDetector(options: RcfOptions = {}): Detector<RcfState> {
  const sensitivity = options.sensitivity ?? 'medium';
  const thresholds = THRESHOLDS[sensitivity];
  if (thresholds === undefined) {
    throw new Error(`rcf sensitivity must be 'low', 'medium' or 'high' (given ${String(sensitivity)})`);
  }
  const shingle = checkRange('shingle', options.shingle ?? 8, 1, 16);
  const trees = checkRange('trees', options.trees ?? 30, 10, 100);
  const sampleSize = checkRange('sampleSize', options.sampleSize ?? 128, 32, 512);
  const keep = sampleSize + shingle - 1;
  const warmUpWindows = shingle - 1 + sampleSize / 2;

  const space = scratch(sampleSize + 1, shingle);
  const { points } = space;

  /** Writes the point ending at `values[end]` (relative to the mean of its first shingle − 1 values) at `row`. */
  const writePoint = (values: readonly number[], end: number, row: number): number => {
    const start = end - shingle + 1;
    let level = 0;
    for (let k = start; k < end; k++) level += values[k]!;
    level = shingle > 1 ? level / (shingle - 1) : 0;
    for (let d = 0; d < shingle; d++) points[row * shingle + d] = values[start + d]! - level;
    return level;
  };

  /**
   * The prediction of the new value: the recent level plus the median change that followed the recent shape
   * in its nearest sample points; and the typical change, the robust spread of every sample point's change.
   */
  const expect = (count: number, level: number): { readonly prediction: number; readonly spread: number } => {
    const query = (count - 1) * shingle;
    const last = shingle - 1;
    const sample = count - 1;
    const changes = space.changes.subarray(0, sample);
    for (let i = 0; i < sample; i++) changes[i] = points[i * shingle + last]!;
    const typical = sortedMedian(changes.sort());
    for (let i = 0; i < sample; i++) changes[i] = Math.abs(changes[i]! - typical);
    const spread = Math.max(1.4826 * sortedMedian(changes.sort()), scaleFloor(level));
    if (shingle === 1) return { prediction: level + typical, spread };
    // The nearest NEIGHBOURS by the first shingle − 1 coordinates, nearest first (on a tie, the newer point).
    const { nearest, nearestDistances } = space;
    nearestDistances.fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < sample; i++) {
      let distance = 0;
      for (let d = 0; d < last; d++) distance += (points[i * shingle + d]! - points[query + d]!) ** 2;
      let k = NEIGHBOURS - 1;
      if (distance > nearestDistances[k]!) continue;
      for (; k > 0 && distance <= nearestDistances[k - 1]!; k--) {
        nearestDistances[k] = nearestDistances[k - 1]!;
        nearest[k] = nearest[k - 1]!;
      }
      nearestDistances[k] = distance;
      nearest[k] = i;
    }
    const found = Math.min(NEIGHBOURS, sample);
    const followed = space.followed.subarray(0, found);
    for (let k = 0; k < found; k++) followed[k] = points[nearest[k]! * shingle + last]!;
    return { prediction: level + sortedMedian(followed.sort()), spread };
  };

  return {
    warmUpWindows,
    initial: () => ({ values: [], scores: [], deviation: 0, n: 0, run: null }),
    score(state, value) {
      if (!Number.isFinite(value)) throw new Error(`rcf: value must be a finite number (given ${value})`);
      const values = [...state.values, value];
      const count = values.length - shingle + 1;
      const warm = state.n + 1 > warmUpWindows;
      if (count < MIN_POINTS) {
        const level = median(values.slice(-shingle));
        return {
          state: { values: values.slice(-keep), scores: [], deviation: 0, n: state.n + 1, run: null },
          verdict: { score: 0, threshold: 0, expected: { low: level, high: level }, anomaly: false, warm: false },
        };
      }
      let level = 0;
      for (let p = 0; p < count; p++) level = writePoint(values, p + shingle - 1, p);
      const score = newPointCoDisp(space, count, shingle, trees, mulberry32(seedOf(state.n)));
      const { prediction, spread } = expect(count, level);
      const expected = { low: prediction - thresholds.range * spread, high: prediction + thresholds.range * spread };
      const center = median(state.scores);
      const threshold =
        state.scores.length === 0
          ? Number.POSITIVE_INFINITY
          : center + thresholds.score * Math.max(robustScale(state.scores, center), 0.1 * center);
      const scores = [...state.scores, Math.round(score * 1000) / 1000].slice(-SCORE_HISTORY);
      const side = value > prediction ? 1 : -1;
      const deviation = Math.round(((value - prediction) / spread) * 1000) / 1000;
      const outside = value < expected.low || value > expected.high;
      // A shift smaller than the range is not isolated in one window, but two windows in a row beyond `pair`
      // typical changes on the same side are unlikely by chance. A run in progress goes on while the values
      // stay outside the range on its side: a new level is no longer isolated once its points fill the
      // shingle, but it is still not what the history expects.
      const paired = Math.abs(deviation) > thresholds.pair && state.deviation * side > thresholds.pair;
      const unusual = (outside && (score > threshold || state.run?.side === side)) || paired;
      if (!warm || !unusual) {
        return {
          state: { values: values.slice(-keep), scores, deviation, n: state.n + 1, run: null },
          verdict: { score, threshold, expected, anomaly: false, warm },
        };
      }
      const step = outageGoesOn(state.run, value) ?? continueRun(state.run, side, value);
      let learnt: number[];
      if (step.newLevel) {
        // The run's earlier windows were learnt as their predictions: the new level is the run's median
        // distance from them, and the whole history moves by it.
        const run = step.newLevel;
        const before = state.values.length - (run.length - 1);
        const stood = [...state.values.slice(before), prediction];
        const shift = median(run.map((v, k) => v - stood[k]!));
        learnt = [...state.values.slice(0, before).map((v) => v + shift), ...run];
      } else {
        learnt = [...state.values, prediction];
      }
      return {
        state: { values: learnt.slice(-keep), scores, deviation: 0, n: state.n + 1, run: step.run },
        verdict: { score, threshold, expected, anomaly: step.report, warm },
      };
    },
  };
}

/**
 * A zero after zeros already reported is an outage going on: it becomes the new level only after
 * `OUTAGE_WINDOWS`, so the windows after a short dropout are expected at the old level, not reported again.
 */
function outageGoesOn(run: AnomalyRun | null, value: number): ReturnType<typeof continueRun> | null {
  if (value !== 0 || run === null || run.side !== -1 || run.values.some((v) => v !== 0)) return null;
  const values = [...run.values, value];
  if (values.length >= OUTAGE_WINDOWS) return { report: false, run: null, newLevel: values };
  return { report: false, run: { side: -1, values }, newLevel: null };
}

/** A seed per window count, so consecutive windows draw independent forests. */
function seedOf(n: number): number {
  return Math.imul(n ^ 0x5eed, 0x9e3779b1) >>> 0;
}
