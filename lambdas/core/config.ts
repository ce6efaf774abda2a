/**
 * The views config: one typed file read by the CDK app, the handlers and the local runtime.
 *
 * `EddyConfig` is what users write; `PipelineConfig` is the validated, normalized form every other module
 * uses (durations in milliseconds, measure result names resolved). Validation names the view, the field and
 * the bad value, and says what would be accepted.
 */

/** A duration: milliseconds, or a string such as `'500ms'`, `'10s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | string;

export type FieldValue = string | number | boolean | null;

export type WindowConfig =
  | { readonly type: 'tumbling'; readonly size: Duration }
  | { readonly type: 'sliding'; readonly size: Duration; readonly slide: Duration }
  | { readonly type: 'session'; readonly gap: Duration };

export type MeasureConfig =
  | { readonly fn: 'count' }
  | { readonly fn: 'sum' | 'min' | 'max' | 'avg'; readonly field: string }
  | { readonly fn: 'distinct'; readonly field: string }
  | { readonly fn: 'quantiles'; readonly field: string; readonly q: readonly number[] }
  | { readonly fn: 'topk'; readonly field: string; readonly k: number }
  | { readonly fn: 'maxBy' | 'minBy'; readonly field: string; readonly keep: readonly string[] };

export interface ViewConfig {
  /** `[a-z][a-z0-9_]*`, at most 64 characters: it appears in URLs and storage keys. */
  readonly name: string;
  /** Equality filter: an event belongs to the view only if every listed field equals the given value. */
  readonly where?: Readonly<Record<string, FieldValue>>;
  /** Fields that form the group; `[]` is one global group. A missing field groups as `null`. */
  readonly groupBy: readonly string[];
  readonly window: WindowConfig;
  readonly measures: readonly MeasureConfig[];
  /**
   * Publish each window once when it becomes final (GET /emitted, the EventBridge results bus). Every final
   * window is compacted either way; this only says whether its results go out.
   * @default true
   */
  readonly emit?: boolean;
  /**
   * How long a final window's results are kept (DynamoDB TTL deletes them after that), counted from when it
   * was compacted; its deltas go once its windows are final plus this.
   * @default '7d'
   */
  readonly retention?: Duration;
  /**
   * Scores each final window's value of one measure against the group's history and reports the unusual
   * ones (GET /anomalies, alerts). Not for session views: sessions are not a regular series.
   */
  readonly anomaly?: AnomalyConfig;
}

/** Anomaly detection on a view's final results (lambdas/core/anomaly/, docs/anomalies.md). */
export interface AnomalyConfig {
  /**
   * The scalar result to score: `count`, a `sum_`/`min_`/`max_`/`avg_`/`distinct_` measure such as
   * `sum_price`, or one quantile such as `quantiles_price.0.99`.
   */
  readonly measure: string;
  /** `robust` (a seasonal median/MAD score, any number of groups) or `rcf` (a random cut forest, few groups). */
  readonly method: 'robust' | 'rcf';
  /** How readily a window is reported: `low` reports fewer, `high` more. @default 'medium' */
  readonly sensitivity?: 'low' | 'medium' | 'high';
  /** `rcf` only: consecutive windows compared as one shape, 1–16. @default the method's own */
  readonly shingle?: number;
  /** `robust` only: the period of a repeating pattern (e.g. `'1h'`), a whole number of windows, at most 1,440. */
  readonly season?: Duration;
}

export interface EddyConfig {
  /** Field holding each event's time: ISO-8601 string or epoch milliseconds. @default 'dateTime' */
  readonly eventTimeField?: string;
  readonly watermark?: {
    /** How far behind the newest event time an event may arrive and still be on time. @default '4s' */
    readonly outOfOrderness?: Duration;
    /** How long after the watermark passes a window's end the window still takes events. @default '5s' */
    readonly allowedLateness?: Duration;
    /** A shard with no records for this long stops holding the pipeline watermark back. @default '30s' */
    readonly idleTimeout?: Duration;
  };
  readonly views: readonly ViewConfig[];
}

/** Normalized window: every window kind is stored as panes of `paneMs` and composed on read. */
export type WindowSpec =
  | { readonly type: 'tumbling'; readonly sizeMs: number; readonly slideMs: number; readonly paneMs: number }
  | { readonly type: 'sliding'; readonly sizeMs: number; readonly slideMs: number; readonly paneMs: number }
  | { readonly type: 'session'; readonly gapMs: number; readonly paneMs: number };

export type MeasureSpec = MeasureConfig & { readonly name: string };

export interface AnomalySpec {
  /** As configured, e.g. `quantiles_price.0.99`. */
  readonly measure: string;
  /** The measure's result name, and the quantile's key within it (null for a scalar measure). */
  readonly result: string;
  readonly quantile: string | null;
  /** A group with no events in a window has the value 0 (count, sum, distinct); otherwise it has none. */
  readonly zeroWhenAbsent: boolean;
  readonly method: 'robust' | 'rcf';
  readonly sensitivity: 'low' | 'medium' | 'high';
  /** rcf: the shingle (null: the method's default). */
  readonly shingle: number | null;
  /** robust: the season in windows (0: none). */
  readonly seasonWindows: number;
}

export interface ViewSpec {
  readonly name: string;
  readonly emit: boolean;
  readonly retentionMs: number;
  readonly where: ReadonlyArray<readonly [string, FieldValue]>;
  readonly groupBy: readonly string[];
  readonly window: WindowSpec;
  readonly measures: readonly MeasureSpec[];
  readonly anomaly: AnomalySpec | null;
}

export interface PipelineConfig {
  readonly eventTimeField: string;
  readonly outOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
  readonly idleTimeoutMs: number;
  readonly views: readonly ViewSpec[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const VIEW_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
// Windows longer than a week would make one item hold a week of a group's data and never turn final in a
// useful time; the limit is a guard against typos like '10d' for '10s', not a storage limit.
const MAX_WINDOW_MS = 7 * UNIT_MS.d!;

/** Parses a duration, or throws naming `where` and the bad value. */
export function parseDuration(value: unknown, where: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return value;
  } else if (typeof value === 'string') {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
    if (m) {
      const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
      if (ms > 0) return ms;
    }
  }
  throw new ConfigError(
    `${where}: ${JSON.stringify(value)} is not a duration; use a positive integer of milliseconds or a string like '500ms', '10s', '5m', '1h', '1d'`,
  );
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function fail(where: string, message: string): never {
  throw new ConfigError(`${where}: ${message}`);
}

/**
 * Edit distance between two keys (optimal string alignment: insertions, deletions, substitutions and swaps of
 * neighbours each cost 1), ignoring case: `groupby` is a misspelling of `groupBy`, not another key.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[s.length]![t.length]!;
}

/**
 * The known key closest to `key`, if it is close enough to be a misspelling: at most a third of the longer
 * key's characters differ (at least one may), and not all of them (`x` is not a misspelt `k`).
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    const longer = Math.max(key.length, candidate.length);
    if (distance >= longer || distance > Math.max(1, Math.floor(longer / 3))) continue;
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best?.key;
}

/**
 * Refuses keys that are not in `known`: a misspelt optional key (`allowedLatness`) would otherwise be ignored
 * and its default used without a word. `others.keys` are keys of sibling shapes (another window type, another
 * measure function): for those the message says they do not apply to `others.shape` rather than guess.
 */
function checkKeys(
  value: object,
  known: readonly string[],
  where: string,
  others?: { readonly keys: readonly string[]; readonly shape: string },
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    if (others?.keys.includes(key))
      fail(where, `key '${key}' does not apply to ${others.shape}; it takes ${known.join(', ')}`);
    const near = closestKey(key, known);
    fail(
      where,
      near === undefined
        ? `unknown key '${key}'; the keys are ${known.join(', ')}`
        : `unknown key '${key}'; did you mean '${near}'?`,
    );
  }
}

/** A final window is kept a week unless its view says otherwise. */
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

const CONFIG_KEYS = ['eventTimeField', 'watermark', 'views'] as const;
const WATERMARK_KEYS = ['outOfOrderness', 'allowedLateness', 'idleTimeout'] as const;
const VIEW_KEYS = ['name', 'where', 'groupBy', 'window', 'measures', 'emit', 'retention', 'anomaly'] as const;
const ANOMALY_KEYS = ['measure', 'method', 'sensitivity', 'shingle', 'season'] as const;
const SENSITIVITIES = ['low', 'medium', 'high'] as const;
// A season longer than a day of windows would make robust's state (one value per window of the season) too big
// to rewrite every window.
const MAX_SEASON_WINDOWS = 1_440;
const WINDOW_KEYS: Readonly<Record<string, readonly string[]>> = {
  tumbling: ['type', 'size'],
  sliding: ['type', 'size', 'slide'],
  session: ['type', 'gap'],
};
const ALL_WINDOW_KEYS = ['type', 'size', 'slide', 'gap'];
const MEASURE_KEYS: Readonly<Record<string, readonly string[]>> = {
  count: ['fn'],
  sum: ['fn', 'field'],
  min: ['fn', 'field'],
  max: ['fn', 'field'],
  avg: ['fn', 'field'],
  distinct: ['fn', 'field'],
  quantiles: ['fn', 'field', 'q'],
  topk: ['fn', 'field', 'k'],
  maxBy: ['fn', 'field', 'keep'],
  minBy: ['fn', 'field', 'keep'],
};
const ALL_MEASURE_KEYS = ['fn', 'field', 'q', 'k', 'keep'];

function checkField(value: unknown, where: string): string {
  if (typeof value !== 'string' || !FIELD_NAME.test(value)) {
    fail(where, `${JSON.stringify(value)} is not a field name (letters, digits and _, not starting with a digit)`);
  }
  return value;
}

function normalizeWindow(w: unknown, where: string): WindowSpec {
  if (typeof w !== 'object' || w === null) fail(where, 'must be an object such as { type: "tumbling", size: "10s" }');
  const win = w as Record<string, unknown>;
  const typeKeys =
    typeof win.type === 'string' && Object.hasOwn(WINDOW_KEYS, win.type) ? WINDOW_KEYS[win.type] : undefined;
  if (typeKeys) checkKeys(win, typeKeys, where, { keys: ALL_WINDOW_KEYS, shape: `a ${win.type} window` });
  else checkKeys(win, ALL_WINDOW_KEYS, where);
  const bounded = (ms: number, name: string) => {
    if (ms > MAX_WINDOW_MS) fail(`${where}.${name}`, `${ms} ms is longer than the 7 day maximum`);
    return ms;
  };
  switch (win.type) {
    case 'tumbling': {
      const sizeMs = bounded(parseDuration(win.size, `${where}.size`), 'size');
      return { type: 'tumbling', sizeMs, slideMs: sizeMs, paneMs: sizeMs };
    }
    case 'sliding': {
      const sizeMs = bounded(parseDuration(win.size, `${where}.size`), 'size');
      const slideMs = parseDuration(win.slide, `${where}.slide`);
      if (slideMs > sizeMs)
        fail(`${where}.slide`, `slide ${slideMs} ms is larger than size ${sizeMs} ms; use a smaller slide`);
      const paneMs = gcd(sizeMs, slideMs);
      // Each window is composed of size/pane panes on every read; past this the read cost, not the write
      // cost, would grow unreasonably, so such a config is refused rather than made slow.
      if (sizeMs / paneMs > 1_000) {
        fail(
          where,
          `size ${sizeMs} ms and slide ${slideMs} ms compose into ${sizeMs / paneMs} panes of ${paneMs} ms per window (at most 1000); choose a slide that divides the size`,
        );
      }
      return { type: 'sliding', sizeMs, slideMs, paneMs };
    }
    case 'session': {
      const gapMs = bounded(parseDuration(win.gap, `${where}.gap`), 'gap');
      return { type: 'session', gapMs, paneMs: gapMs };
    }
    default:
      fail(`${where}.type`, `${JSON.stringify(win.type)} is not a window type; use 'tumbling', 'sliding' or 'session'`);
  }
}

const NUMERIC_FNS = new Set(['sum', 'min', 'max', 'avg']);

function normalizeMeasure(m: unknown, where: string): MeasureSpec {
  if (typeof m !== 'object' || m === null) fail(where, 'must be an object such as { fn: "count" }');
  const spec = m as Record<string, unknown>;
  const fnKeys =
    typeof spec.fn === 'string' && Object.hasOwn(MEASURE_KEYS, spec.fn) ? MEASURE_KEYS[spec.fn] : undefined;
  if (fnKeys) checkKeys(spec, fnKeys, where, { keys: ALL_MEASURE_KEYS, shape: `measure '${spec.fn}'` });
  else checkKeys(spec, ALL_MEASURE_KEYS, where);
  const fn = spec.fn;
  if (fn === 'count') return { fn, name: 'count' };
  if (typeof fn !== 'string') fail(`${where}.fn`, `${JSON.stringify(fn)} is not a measure function`);
  if (NUMERIC_FNS.has(fn) || fn === 'distinct') {
    const field = checkField(spec.field, `${where}.field`);
    return { fn, field, name: `${fn}_${field}` } as MeasureSpec;
  }
  if (fn === 'quantiles') {
    const field = checkField(spec.field, `${where}.field`);
    const q = spec.q;
    if (
      !Array.isArray(q) ||
      q.length === 0 ||
      q.length > 20 ||
      !q.every((x) => typeof x === 'number' && x >= 0 && x <= 1)
    ) {
      fail(
        `${where}.q`,
        `${JSON.stringify(q)} must be a list of 1 to 20 numbers between 0 and 1, e.g. [0.5, 0.9, 0.99]`,
      );
    }
    return { fn, field, q: [...q] as number[], name: `quantiles_${field}` };
  }
  if (fn === 'topk') {
    const field = checkField(spec.field, `${where}.field`);
    const k = spec.k;
    // 4k counters of values up to 128 characters: k = 200 keeps the summary near 100 KB of a 400 KB item.
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > 200) {
      fail(`${where}.k`, `${JSON.stringify(k)} must be an integer between 1 and 200`);
    }
    return { fn, field, k, name: `topk_${field}` };
  }
  if (fn === 'maxBy' || fn === 'minBy') {
    const field = checkField(spec.field, `${where}.field`);
    const keep = spec.keep;
    if (!Array.isArray(keep)) fail(`${where}.keep`, `${JSON.stringify(keep)} must be a list of field names`);
    for (const [i, f] of keep.entries()) checkField(f, `${where}.keep[${i}]`);
    return { fn, field, keep: [...keep] as string[], name: `${fn}_${field}` };
  }
  fail(
    `${where}.fn`,
    `${JSON.stringify(fn)} is not a measure function; use one of count, sum, min, max, avg, distinct, quantiles, topk, maxBy, minBy`,
  );
}

const ZERO_WHEN_ABSENT = new Set(['count', 'sum', 'distinct']);
const SCALAR_FNS = new Set(['count', 'sum', 'min', 'max', 'avg', 'distinct']);

function normalizeAnomaly(
  a: unknown,
  where: string,
  window: WindowSpec,
  measures: readonly MeasureSpec[],
): AnomalySpec {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) {
    fail(where, `${JSON.stringify(a)} must be an object such as { measure: 'count', method: 'robust' }`);
  }
  checkKeys(a, ANOMALY_KEYS, where);
  const spec = a as Record<string, unknown>;
  if (window.type === 'session') {
    fail(where, 'session windows are not a regular series and cannot be scored; use a tumbling or sliding view');
  }
  const scalars = measures.flatMap((m) =>
    m.fn === 'quantiles' ? m.q.map((q) => `${m.name}.${q}`) : SCALAR_FNS.has(m.fn) ? [m.name] : [],
  );
  const measure = spec.measure;
  if (typeof measure !== 'string' || !scalars.includes(measure)) {
    fail(
      `${where}.measure`,
      scalars.length === 0
        ? `${JSON.stringify(measure)}: the view has no scalar measure to score (count, sum, min, max, avg, distinct or a quantile)`
        : `${JSON.stringify(measure)} is not a scalar result of the view; use one of ${scalars.join(', ')}`,
    );
  }
  const dot = measure.indexOf('.');
  const result = dot < 0 ? measure : measure.slice(0, dot);
  const fn = measures.find((m) => m.name === result)!.fn;
  const method = spec.method;
  if (method !== 'robust' && method !== 'rcf') {
    fail(`${where}.method`, `${JSON.stringify(method)} is not a method; use 'robust' or 'rcf'`);
  }
  const sensitivity = spec.sensitivity ?? 'medium';
  if (!SENSITIVITIES.includes(sensitivity as never)) {
    fail(`${where}.sensitivity`, `${JSON.stringify(sensitivity)} must be 'low', 'medium' or 'high'`);
  }
  let shingle: number | null = null;
  if (spec.shingle !== undefined) {
    if (method !== 'rcf') fail(`${where}.shingle`, "applies to method 'rcf' only");
    if (typeof spec.shingle !== 'number' || !Number.isInteger(spec.shingle) || spec.shingle < 1 || spec.shingle > 16) {
      fail(`${where}.shingle`, `${JSON.stringify(spec.shingle)} must be an integer from 1 to 16`);
    }
    shingle = spec.shingle;
  }
  let seasonWindows = 0;
  if (spec.season !== undefined) {
    if (method !== 'robust') fail(`${where}.season`, "applies to method 'robust' only");
    const seasonMs = parseDuration(spec.season, `${where}.season`);
    const slideMs = window.slideMs;
    if (seasonMs % slideMs !== 0 || seasonMs / slideMs < 2 || seasonMs / slideMs > MAX_SEASON_WINDOWS) {
      fail(
        `${where}.season`,
        `${JSON.stringify(spec.season)} must be a whole number of windows (${slideMs} ms each), from 2 to ${MAX_SEASON_WINDOWS} of them`,
      );
    }
    seasonWindows = seasonMs / slideMs;
  }
  return {
    measure,
    result,
    quantile: dot < 0 ? null : measure.slice(dot + 1),
    zeroWhenAbsent: ZERO_WHEN_ABSENT.has(fn),
    method,
    sensitivity: sensitivity as AnomalySpec['sensitivity'],
    shingle,
    seasonWindows,
  };
}

function normalizeView(v: unknown, index: number): ViewSpec {
  if (typeof v !== 'object' || v === null) fail(`views[${index}]`, 'must be an object');
  const view = v as Record<string, unknown>;
  const name = view.name;
  checkKeys(view, VIEW_KEYS, typeof name === 'string' && VIEW_NAME.test(name) ? `view '${name}'` : `views[${index}]`);
  if (typeof name !== 'string' || !VIEW_NAME.test(name)) {
    fail(`views[${index}].name`, `${JSON.stringify(name)} must match [a-z][a-z0-9_]* (at most 64 characters)`);
  }
  const where = `view '${name}'`;
  const filter = view.where ?? {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    fail(`${where}.where`, 'must be an object of field: value');
  }
  const whereEntries = Object.entries(filter as Record<string, unknown>).map(([field, value]) => {
    checkField(field, `${where}.where`);
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      fail(`${where}.where.${field}`, `${JSON.stringify(value)} must be a string, number, boolean or null`);
    }
    return [field, value as FieldValue] as const;
  });
  const groupBy = view.groupBy ?? [];
  if (!Array.isArray(groupBy)) fail(`${where}.groupBy`, `${JSON.stringify(groupBy)} must be a list of field names`);
  for (const [i, f] of groupBy.entries()) checkField(f, `${where}.groupBy[${i}]`);
  if (new Set(groupBy).size !== groupBy.length) fail(`${where}.groupBy`, 'lists a field twice');
  const reserved = groupBy.find((f) => ['from', 'to', 'limit', 'cursor'].includes(f as string));
  if (reserved)
    fail(`${where}.groupBy`, `'${reserved}' is a query parameter of the results API and cannot be a group field`);
  const window = normalizeWindow(view.window, `${where}.window`);
  if (!Array.isArray(view.measures) || view.measures.length === 0) {
    fail(`${where}.measures`, 'must be a non-empty list such as [{ fn: "count" }]');
  }
  const measures = view.measures.map((m, i) => normalizeMeasure(m, `${where}.measures[${i}]`));
  const names = new Set<string>();
  for (const m of measures) {
    if (names.has(m.name)) fail(`${where}.measures`, `two measures are both named '${m.name}'`);
    names.add(m.name);
  }
  if (view.emit !== undefined && typeof view.emit !== 'boolean') {
    fail(`${where}.emit`, `${JSON.stringify(view.emit)} must be true or false`);
  }
  const retentionMs =
    view.retention === undefined ? DEFAULT_RETENTION_MS : parseDuration(view.retention, `${where}.retention`);
  return {
    name,
    emit: view.emit !== false,
    retentionMs,
    where: whereEntries,
    groupBy: groupBy as string[],
    window,
    measures,
    anomaly: view.anomaly === undefined ? null : normalizeAnomaly(view.anomaly, `${where}.anomaly`, window, measures),
  };
}

function checkAnomalyGroupFields(view: ViewSpec): ViewSpec {
  if (view.anomaly && view.groupBy.includes('view')) {
    fail(
      `view '${view.name}'.groupBy`,
      "'view' is a query parameter of GET /anomalies and cannot be a group field of a view with a detector",
    );
  }
  return view;
}

/** Validates and normalizes a config; throws `ConfigError` naming the view, field and bad value. */
export function normalizeConfig(input: unknown): PipelineConfig {
  if (typeof input !== 'object' || input === null) fail('config', 'must be an object with a views list');
  checkKeys(input, CONFIG_KEYS, 'config');
  const cfg = input as EddyConfig;
  const eventTimeField = checkField(cfg.eventTimeField ?? 'dateTime', 'config.eventTimeField');
  const wm = cfg.watermark ?? {};
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    fail('config.watermark', `${JSON.stringify(wm)} must be an object such as { outOfOrderness: '4s' }`);
  }
  checkKeys(wm, WATERMARK_KEYS, 'config.watermark');
  const outOfOrdernessMs = parseDuration(wm.outOfOrderness ?? '4s', 'config.watermark.outOfOrderness');
  const allowedLatenessMs = parseDuration(wm.allowedLateness ?? '5s', 'config.watermark.allowedLateness');
  const idleTimeoutMs = parseDuration(wm.idleTimeout ?? '30s', 'config.watermark.idleTimeout');
  if (!Array.isArray(cfg.views) || cfg.views.length === 0) fail('config.views', 'must be a non-empty list of views');
  const views = cfg.views.map((v, i) => checkAnomalyGroupFields(normalizeView(v, i)));
  const seen = new Set<string>();
  for (const v of views) {
    if (seen.has(v.name)) fail(`view '${v.name}'`, 'the name is used by two views');
    seen.add(v.name);
  }
  return { eventTimeField, outOfOrdernessMs, allowedLatenessMs, idleTimeoutMs, views };
}
