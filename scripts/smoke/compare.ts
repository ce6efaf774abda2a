/**
 * Comparing a group's results from GET /views/{view}/results with the expected ones.
 *
 * - A group only this run wrote to must match exactly: the same windows, counts and measures (quantiles and
 *   distinct within the accuracy their sketches document).
 * - A group other producers may share (a view with no groupBy, or grouped by a field its filter fixes): a
 *   window that matches exactly, or whose count equals the run's, holds only the run's events and is held to
 *   the exact comparison; otherwise other traffic is in it, and only what more events cannot undo is checked
 *   (a count at least the run's, a max at least its max, a min at most its min).
 */
import type { ViewSpec } from '../../lambdas/core/config.ts';
import { RELATIVE_ACCURACY } from '../../lambdas/core/measures/quantiles.ts';
import type { ExpectedGroup, ExpectedWindow } from './expected.ts';

/** A window as GET /views/{view}/results returns it. */
export interface ApiWindow {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly final: boolean;
  readonly measures: Record<string, unknown>;
}

export interface GroupComparison {
  readonly problems: string[];
  /** Windows compared exactly, and windows only checked as lower bounds (other traffic in them). */
  readonly exact: number;
  readonly lowerBound: number;
}

/** avg is a float quotient; sums of the run's integers are exact. */
const FLOAT_TOLERANCE = 1e-9;
/** HyperLogLog's sparse form counts small sets exactly; past this many values it estimates. */
const EXACT_DISTINCT_BELOW = 1024;
const DISTINCT_RELATIVE_ERROR = 0.03;

export function compareGroup(
  view: ViewSpec,
  expected: ExpectedGroup,
  actual: readonly ApiWindow[],
  owned: boolean,
): GroupComparison {
  const problems: string[] = [];
  let exact = 0;
  let lowerBound = 0;
  const label = describeGroup(view, expected.values);
  const byStart = new Map(actual.map((w) => [Date.parse(w.windowStart), w]));
  if (owned) {
    const expectedStarts = new Set(expected.windows.map((w) => w.start));
    const extra = actual.filter((w) => !expectedStarts.has(Date.parse(w.windowStart)));
    if (extra.length > 0) {
      problems.push(`${label}: unexpected window(s) ${extra.map((w) => w.windowStart).join(', ')}`);
    }
  }
  for (const want of expected.windows) {
    const got = owned || view.window.type !== 'session' ? byStart.get(want.start) : coveringSession(want, actual);
    const at = `${label} window ${iso(want.start)}`;
    if (!got) {
      problems.push(`${at}: missing (expected count ${want.count})`);
      continue;
    }
    const mismatches = [
      ...(got.windowStart === iso(want.start) ? [] : [`starts ${got.windowStart}, expected ${iso(want.start)}`]),
      ...(got.windowEnd === iso(want.end) ? [] : [`ends ${got.windowEnd}, expected ${iso(want.end)}`]),
      ...compareMeasures(view, want, got),
    ];
    const count = got.measures.count;
    const onlyTheRun = owned || (typeof count === 'number' && count === want.count);
    if (onlyTheRun || mismatches.length === 0) {
      exact++;
      problems.push(...mismatches.map((p) => `${at}: ${p}`));
      continue;
    }
    // Other traffic in a shared group (or no count to tell): only what more events cannot undo is checked.
    lowerBound++;
    problems.push(...boundViolations(view, want, got).map((p) => `${at}: ${p} (shared group)`));
  }
  return { problems, exact, lowerBound };
}

/**
 * What holds however many other events share the window: at least the run's count, a max at least the run's
 * max, a min at most the run's min.
 */
function boundViolations(view: ViewSpec, want: ExpectedWindow, got: ApiWindow): string[] {
  const out: string[] = [];
  for (const m of view.measures) {
    const expected = want.measures[m.name];
    const actual = got.measures[m.name];
    const value = (v: unknown) =>
      m.fn === 'maxBy' || m.fn === 'minBy' ? (v as Record<string, unknown> | null)?.[m.field] : v;
    const e = value(expected);
    const a = value(actual);
    if (typeof e !== 'number') continue;
    const sign =
      m.fn === 'count' || m.fn === 'max' || m.fn === 'maxBy' ? 1 : m.fn === 'min' || m.fn === 'minBy' ? -1 : 0;
    if (sign === 0) continue;
    if (typeof a !== 'number' || (a - e) * sign < 0) {
      out.push(`${m.name} ${JSON.stringify(a)}, expected ${sign > 0 ? 'at least' : 'at most'} ${e}`);
    }
  }
  return out;
}

/** The session of a shared group that contains every data event of the expected one (others may widen it). */
function coveringSession(want: ExpectedWindow, actual: readonly ApiWindow[]): ApiWindow | undefined {
  const first = Math.min(...want.dataTimes);
  const last = Math.max(...want.dataTimes);
  return actual.find((w) => Date.parse(w.windowStart) <= first && Date.parse(w.windowEnd) > last);
}

function compareMeasures(view: ViewSpec, want: ExpectedWindow, got: ApiWindow): string[] {
  const problems: string[] = [];
  for (const m of view.measures) {
    const actual = got.measures[m.name];
    if (m.fn === 'quantiles') {
      const exact = want.quantiles[m.name] ?? {};
      const reported = (actual ?? {}) as Record<string, unknown>;
      for (const [q, value] of Object.entries(exact)) {
        const r = reported[q];
        const ok =
          value === null
            ? r === null
            : typeof r === 'number' && Math.abs(r - value) <= RELATIVE_ACCURACY * Math.abs(value) + FLOAT_TOLERANCE;
        if (!ok)
          problems.push(`${m.name}[${q}] ${JSON.stringify(r)}, expected ${value} within ${RELATIVE_ACCURACY * 100} %`);
      }
      continue;
    }
    const expected = want.measures[m.name];
    if (m.fn === 'distinct' && typeof expected === 'number' && expected >= EXACT_DISTINCT_BELOW) {
      if (typeof actual !== 'number' || Math.abs(actual - expected) > DISTINCT_RELATIVE_ERROR * expected) {
        problems.push(
          `${m.name} ${JSON.stringify(actual)}, expected ${expected} within ${DISTINCT_RELATIVE_ERROR * 100} %`,
        );
      }
      continue;
    }
    if (m.fn === 'avg' && typeof expected === 'number') {
      if (
        typeof actual !== 'number' ||
        Math.abs(actual - expected) > FLOAT_TOLERANCE * Math.max(1, Math.abs(expected))
      ) {
        problems.push(`${m.name} ${JSON.stringify(actual)}, expected ${expected}`);
      }
      continue;
    }
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      problems.push(`${m.name} ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
  }
  return problems;
}

export function describeGroup(view: ViewSpec, values: ReadonlyArray<string | null>): string {
  if (view.groupBy.length === 0) return 'global group';
  return view.groupBy.map((f, i) => `${f}=${values[i]}`).join(',');
}

const iso = (t: number) => new Date(t).toISOString();
