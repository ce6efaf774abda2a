/**
 * Anomaly detection on final window results: one value per (view, group, window), scored in window order
 * against that group's history. A detector is a pure function of (state, value) → (next state, verdict), with
 * a small JSON-safe state, so the state can live in DynamoDB next to the results, and a retried scoring of
 * the same window from the same state gives the same verdict (exactly once in effect).
 *
 * Two conventions shared by every method:
 * - **No echo.** A value reported as an anomaly is not learnt: the history keeps the value that was expected
 *   instead, so a spike is reported in its own window and not again in the windows after it.
 * - **Level shifts are reported when they start.** When the values stay anomalous on the same side for
 *   `LEVEL_SHIFT_WINDOWS` windows in a row, that is a new level: the first window was reported, the next ones
 *   are not, and the history restarts from the new level. (`robust` also reports a run of windows that are
 *   each only somewhat off, once, at the window that confirms it.)
 */

/**
 * The user-facing knob: how readily a method reports. Each method maps it to its own threshold; `medium` is the
 * default it is tuned for (see `npm run bench:anomaly`), `low` reports fewer, `high` more.
 */
export type Sensitivity = 'low' | 'medium' | 'high';

export interface Verdict {
  /** The method's score (robust: prediction error in typical errors; rcf: collusive displacement). */
  readonly score: number;
  /** The score above which a value is reported. */
  readonly threshold: number;
  /** The range the method expected the value in. */
  readonly expected: { readonly low: number; readonly high: number };
  /** Reported: above the threshold, warmed up, and not the continuation of a shift already reported. */
  readonly anomaly: boolean;
  /** False until the group has enough history to score. */
  readonly warm: boolean;
}

export interface Detector<State> {
  /** Windows of history needed before anything is reported. */
  readonly warmUpWindows: number;
  initial(): State;
  /**
   * Scores `value` (the window's result) and learns it. Pure: `state` is not modified. `window` is the window's
   * number (its start divided by the view's slide): a seasonal method takes its phase from it, so a window
   * left unscored (no value) does not shift the season. Without it, the phase is the count of windows scored.
   */
  score(state: State, value: number, window?: number): { readonly state: State; readonly verdict: Verdict };
}

/** Consecutive anomalous windows on one side after which the values are taken as a new level. */
export const LEVEL_SHIFT_WINDOWS = 3;

/** The run of anomalous windows in progress: its side, how many windows, their values. */
export interface AnomalyRun {
  readonly side: 1 | -1;
  readonly values: readonly number[];
}

/**
 * Decides, for a value above the threshold, whether to report it (the first of a run on its side) and what
 * the run becomes; `undefined` next means the run has reached a new level and history should restart from it.
 */
export function continueRun(
  run: AnomalyRun | null,
  side: 1 | -1,
  value: number,
): { readonly report: boolean; readonly run: AnomalyRun | null; readonly newLevel: readonly number[] | null } {
  const continues = run !== null && run.side === side;
  const values = continues ? [...run.values, value] : [value];
  if (values.length >= LEVEL_SHIFT_WINDOWS) return { report: !continues, run: null, newLevel: values };
  return { report: !continues, run: { side, values }, newLevel: null };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median absolute deviation, scaled to estimate the standard deviation of normal data. */
export function robustScale(values: readonly number[], center: number): number {
  return 1.4826 * median(values.map((v) => Math.abs(v - center)));
}

/**
 * A floor for the scale, so a flat history (MAD 0) does not make every small change infinite: 2% of the level,
 * or for counts the Poisson noise √level, whichever is larger, and never below a tiny absolute value.
 */
export function scaleFloor(level: number): number {
  const magnitude = Math.abs(level);
  return Math.max(0.02 * magnitude, Number.isInteger(level) && level >= 0 ? Math.sqrt(magnitude) * 0.5 : 0, 1e-9);
}
