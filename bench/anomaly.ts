/**
 * `npm run bench:anomaly`: a labelled benchmark of the anomaly detectors. Measures and prints; asserts nothing.
 *
 * Three stages, each reusable on its own (the same series can be fed through the real aggregation path and the
 * emitted results scored and evaluated here):
 * 1. `generateSeries(seed)`: per-window counts of one group in 5-minute windows (288 a day) over 7 days: a daily
 *    (±35%) and an hourly (±8%) pattern, a trend (+20% over the week) and noise of 1.5 √mean (Poisson, over-
 *    dispersed); after two clean days, an anomaly every 60–200 windows, of one of four kinds drawn evenly:
 *    a spike (one window +50%..+150%), a dip (one window −50%..−80%), a dropout (0 for 1–6 windows), a level
 *    shift (±30%..50% from then on).
 * 2. `scoreSeries(detector, values)`: the windows each method reports, scoring every window in order from the
 *    initial state.
 * 3. `evaluate(series, reported)`: a report inside an anomaly's span (its windows, or for a shift the first
 *    `SHIFT_TOLERANCE` + 1 windows) is a hit for that anomaly, with the delay from its first window; a second
 *    report inside the same span is a repeat; any other report is a false alert, attributed to what precedes it.
 *
 * The printed series are seeds 1000–1011; the robust method's constants were tuned on seeds 1–24, so the table is
 * not the data they were fitted to. The random cut forest is slow: it scores as many series as fit in
 * `RCF_BUDGET_MS`, and its row says so when that is fewer than all.
 *
 * Per-kind F1 uses the kind's recall and the method's overall precision: a false alert belongs to no kind, so
 * a per-kind precision would have to share false alerts out arbitrarily.
 */
import { pathToFileURL } from 'node:url';
import { toBatchRecord } from '../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../lambdas/aggregate/shard-processor.ts';
import { type Detector, median } from '../lambdas/core/anomaly/detector.ts';
import { rcfDetector } from '../lambdas/core/anomaly/rcf.ts';
import { robustDetector } from '../lambdas/core/anomaly/robust.ts';
import { createDetector } from '../lambdas/core/anomaly/scoring.ts';
import { normalizeConfig } from '../lambdas/core/config.ts';
import { groupKeyOf, viewIdOf } from '../lambdas/core/group.ts';
import { mulberry32 } from '../lambdas/core/random.ts';
import { packedRecord } from '../test/support/kinesis.ts';
import { MemoryStateStore } from '../test/support/memory-state-store.ts';

export const WINDOWS_PER_DAY = 288;
const DAYS = 7;
const SERIES = 12;
/** Windows after a level shift's first within which reporting it still counts as a hit (15 minutes). */
export const SHIFT_TOLERANCE = 2;
/** How long the slow random cut forest may run in total; it scores as many series as fit. */
const RCF_BUDGET_MS = 25_000;

export type Kind = 'spike' | 'dip' | 'dropout' | 'shift';
export const KINDS: readonly Kind[] = ['spike', 'dip', 'dropout', 'shift'];

export interface Injected {
  readonly kind: Kind;
  /** First window of the anomaly. */
  readonly start: number;
  /** Windows it lasts (a shift lasts for ever; this is 1 for it). */
  readonly length: number;
}

export interface Series {
  readonly values: readonly number[];
  readonly anomalies: readonly Injected[];
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** One group's per-window counts with injected anomalies; the same seed gives the same series. */
export function generateSeries(seed: number, windows = WINDOWS_PER_DAY * DAYS): Series {
  const random = mulberry32(seed);
  const base = 200 + random() * 800;
  const anomalies: Injected[] = [];
  const values: number[] = [];
  let level = 1;
  let next = WINDOWS_PER_DAY * 2 + Math.floor(random() * 100);
  let dropoutUntil = -1;
  for (let t = 0; t < windows; t++) {
    const daily = 0.35 * Math.sin((2 * Math.PI * t) / WINDOWS_PER_DAY);
    const hourly = 0.08 * Math.sin((2 * Math.PI * t) / 12);
    const trend = 0.0001 * t;
    if (t === next) {
      const kind = KINDS[Math.floor(random() * KINDS.length)]!;
      if (kind === 'shift') {
        // Up or down at random, but keep the level within 0.4–2.5× the base so shifts do not compound away.
        const up = level < 0.7 ? true : level > 1.5 ? false : random() < 0.5;
        level *= up ? 1.3 + random() * 0.2 : 0.5 + random() * 0.2;
      }
      const length = kind === 'dropout' ? 1 + Math.floor(random() * 6) : 1;
      if (kind === 'dropout') dropoutUntil = t + length - 1;
      anomalies.push({ kind, start: t, length });
      next = t + length + 60 + Math.floor(random() * 140);
    }
    const mean = base * level * (1 + daily + hourly) * (1 + trend);
    let value = Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random) * 1.5));
    const current = anomalies.at(-1);
    if (current?.start === t && current.kind === 'spike') value = Math.round(value * (1.5 + random()));
    if (current?.start === t && current.kind === 'dip') value = Math.round(value * (0.2 + random() * 0.3));
    if (t <= dropoutUntil) value = 0;
    values.push(value);
  }
  return { values, anomalies };
}

export interface Scored {
  /** Windows reported as anomalies, ascending. */
  readonly reported: number[];
  readonly micros: number;
  /** Largest state seen, as JSON bytes. */
  readonly stateBytes: number;
}

/** Scores every window in order, the state round-tripped through JSON as it is between invocations. */
export function scoreSeries<S>(detector: Detector<S>, values: readonly number[]): Scored {
  let state = detector.initial();
  const reported: number[] = [];
  let micros = 0;
  let stateBytes = 0;
  for (let t = 0; t < values.length; t++) {
    const t0 = process.hrtime.bigint();
    const out = detector.score(state, values[t]!);
    micros += Number(process.hrtime.bigint() - t0) / 1e3;
    const json = JSON.stringify(out.state);
    stateBytes = Math.max(stateBytes, Buffer.byteLength(json));
    state = JSON.parse(json) as S;
    if (out.verdict.anomaly) reported.push(t);
  }
  return { reported, micros, stateBytes };
}

/** Where a false alert falls, to see why it happens. */
export type FalseAlertCause = 'after a shift' | 'after another anomaly' | 'clean history';
/** Windows after an anomaly in which a false alert is blamed on it. */
const AFTERMATH = 36;

export interface Evaluation {
  readonly windows: number;
  readonly byKind: ReadonlyMap<Kind, { injected: number; hits: number; delays: number[] }>;
  readonly reports: number;
  readonly repeats: number;
  readonly falseAlerts: number;
  readonly falseByCause: ReadonlyMap<FalseAlertCause, number>;
}

export function evaluate(series: Series, reported: readonly number[]): Evaluation {
  const byKind = new Map(KINDS.map((kind) => [kind, { injected: 0, hits: 0, delays: [] as number[] }]));
  const falseByCause = new Map<FalseAlertCause, number>();
  const span = (a: Injected) => a.start + (a.kind === 'shift' ? SHIFT_TOLERANCE : a.length - 1);
  const found = new Set<Injected>();
  let repeats = 0;
  let falseAlerts = 0;
  for (const t of reported) {
    const hit = series.anomalies.find((a) => t >= a.start && t <= span(a));
    if (hit && found.has(hit)) repeats++;
    else if (hit) {
      found.add(hit);
      byKind.get(hit.kind)!.delays.push(t - hit.start);
    } else {
      falseAlerts++;
      const before = [...series.anomalies].reverse().find((a) => a.start <= t && t - span(a) <= AFTERMATH);
      const cause = before ? (before.kind === 'shift' ? 'after a shift' : 'after another anomaly') : 'clean history';
      falseByCause.set(cause, (falseByCause.get(cause) ?? 0) + 1);
    }
  }
  for (const a of series.anomalies) {
    const tally = byKind.get(a.kind)!;
    tally.injected++;
    if (found.has(a)) tally.hits++;
  }
  return { windows: series.values.length, byKind, reports: reported.length, repeats, falseAlerts, falseByCause };
}

/** Sums evaluations of several series. */
export function combine(evaluations: readonly Evaluation[]): Evaluation {
  const byKind = new Map(KINDS.map((kind) => [kind, { injected: 0, hits: 0, delays: [] as number[] }]));
  const falseByCause = new Map<FalseAlertCause, number>();
  for (const e of evaluations) {
    for (const [kind, t] of e.byKind) {
      const sum = byKind.get(kind)!;
      sum.injected += t.injected;
      sum.hits += t.hits;
      sum.delays.push(...t.delays);
    }
    for (const [cause, n] of e.falseByCause) falseByCause.set(cause, (falseByCause.get(cause) ?? 0) + n);
  }
  const total = (f: (e: Evaluation) => number) => evaluations.reduce((n, e) => n + f(e), 0);
  return {
    windows: total((e) => e.windows),
    byKind,
    reports: total((e) => e.reports),
    repeats: total((e) => e.repeats),
    falseAlerts: total((e) => e.falseAlerts),
    falseByCause,
  };
}

/** The baseline: |x − mean| > 3σ of the last 32 windows. */
export function threeSigma(): Detector<number[]> {
  return {
    warmUpWindows: 32,
    initial: () => [],
    score(history, value) {
      const mean = history.reduce((a, b) => a + b, 0) / Math.max(1, history.length);
      const sd = Math.sqrt(history.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, history.length)) || 1;
      const score = Math.abs(value - mean) / sd;
      const warm = history.length >= 32;
      return {
        state: [...history, value].slice(-32),
        verdict: {
          score,
          threshold: 3,
          expected: { low: mean - 3 * sd, high: mean + 3 * sd },
          anomaly: warm && score > 3,
          warm,
        },
      };
    },
  };
}

interface Method {
  readonly name: string;
  readonly detector: Detector<unknown>;
  readonly budgetMs?: number;
}

function run(method: Method, all: readonly Series[]) {
  const evaluations: Evaluation[] = [];
  let micros = 0;
  let stateBytes = 0;
  const started = Date.now();
  for (const series of all) {
    if (method.budgetMs !== undefined && evaluations.length > 0 && Date.now() - started > method.budgetMs) break;
    const scored = scoreSeries(method.detector, series.values);
    micros += scored.micros;
    stateBytes = Math.max(stateBytes, scored.stateBytes);
    evaluations.push(evaluate(series, scored.reported));
  }
  const r = combine(evaluations);
  return { ...r, series: evaluations.length, microsPerWindow: micros / r.windows, stateBytes };
}

const f = (x: number, digits = 2) => x.toFixed(digits);

function print(name: string, r: ReturnType<typeof run>, total: number): void {
  const hits = [...r.byKind.values()].reduce((n, t) => n + t.hits, 0);
  const injected = [...r.byKind.values()].reduce((n, t) => n + t.injected, 0);
  const precision = hits / Math.max(1, hits + r.falseAlerts);
  const falsePerK = (r.falseAlerts / r.windows) * 1000;
  const label = r.series < total ? `${name} (${r.series} of ${total} series)` : name;
  const rows: Array<[string, number, number, number[]]> = [
    ...KINDS.map((kind): [string, number, number, number[]] => {
      const t = r.byKind.get(kind)!;
      return [kind, t.hits, t.injected, t.delays];
    }),
    ['all', hits, injected, [...r.byKind.values()].flatMap((t) => t.delays)],
  ];
  rows.forEach(([kind, h, n, delays], i) => {
    const recall = h / Math.max(1, n);
    const f1 = (2 * precision * recall) / Math.max(1e-9, precision + recall);
    const delay = delays.length > 0 ? f(median(delays), 1) : '-';
    const tail =
      i === 0
        ? `| ${f(falsePerK).padStart(8)}  ${String(r.repeats).padStart(7)}  ${f(r.microsPerWindow, 1).padStart(9)}  ${String(r.stateBytes).padStart(6)}`
        : i === 1
          ? `| false alerts: ${[...r.falseByCause].map(([c, k]) => `${k} ${c}`).join(', ') || 'none'}`
          : '|';
    console.log(
      `  ${(i === 0 ? label : '').padEnd(30)} ${kind.padEnd(8)} ${`${h}/${n}`.padStart(7)} ${f(recall).padStart(6)} ${f(precision).padStart(9)} ${f(f1).padStart(5)} ${delay.padStart(6)}  ${tail}`,
    );
  });
}

/** Where each method fails by construction; the measured failures are printed from the run beside it. */
const FAILURES: Record<string, string> = {
  '3-sigma (baseline)':
    'mean and σ of the last 32 windows: the daily slope and the hourly pattern are noise to it, an anomaly inflates σ for the 32 windows after it, and a shift is reported again while the 32 windows span both levels.',
  robust:
    'a shift under about 3 typical errors a window (+30% on a group of ~100 a window) is adapted to, not reported; with no season (or one that is not the data’s) the hourly pattern widens the typical error and small spikes and shifts go unseen; a dropout longer than OUTAGE_WINDOWS (an hour) becomes the new level, so the recovery is reported too.',
  rcf: 'a ±30% shift on a noisy group is rarely isolated by the forest in one window (the two-window rule catches some), and a skipped window joins values that were not neighbours into one point; about 1 ms and 1–3 KB of state per group and window, with a 71-window warm-up: for views with few groups.',
};

function failures(name: string, r: ReturnType<typeof run>): string {
  const weak = KINDS.filter((kind) => {
    const t = r.byKind.get(kind)!;
    return t.hits / Math.max(1, t.injected) < 0.8;
  }).map((kind) => {
    const t = r.byKind.get(kind)!;
    return `${kind}s (${t.hits}/${t.injected})`;
  });
  const falsePerK = (r.falseAlerts / r.windows) * 1000;
  const measured = [
    weak.length > 0 ? `misses ${weak.join(', ')}` : 'recall ≥ 0.8 on every kind',
    falsePerK > 1 ? `${f(falsePerK)} false alerts per 1,000 windows` : `≤ 1 false alert per 1,000 windows`,
  ].join('; ');
  return `  ${name}: ${measured}.`;
}

const WINDOW_MS = 300_000;

/**
 * The same series through the real aggregation path: each series is one group of a view with 5-minute tumbling
 * windows and `anomaly: { measure: 'sum_v', method: 'robust', season: '1h' }`; each window's value is one
 * event `{ g, v }` (none when the value is 0: a dropout is a group with no events), one Kinesis record per
 * window, through the shard processor and the emitter on the in-memory store (DynamoDB's semantics and bills).
 * What the pipeline reports is read back with listAnomalies, and compared with scoring the values directly.
 */
async function throughThePipeline(all: readonly Series[]) {
  const config = normalizeConfig({
    watermark: { outOfOrderness: '1s', allowedLateness: '1s', idleTimeout: '1d' },
    views: [
      {
        name: 'series',
        groupBy: ['g'],
        window: { type: 'tumbling', size: '5m' },
        measures: [{ fn: 'sum', field: 'v' }],
        anomaly: { measure: 'sum_v', method: 'robust', season: '1h' },
      },
    ],
  });
  const view = config.views[0]!;
  // Aligned to the hour, so the window's number has the same phase in the season as its index in the series.
  const t0 = Date.UTC(2026, 10, 1);
  const windows = all[0]!.values.length;
  const store = new MemoryStateStore();
  const processor = new ShardProcessor(config, store, () => t0 + (windows + 10) * WINDOW_MS);
  const started = Date.now();
  for (let w = 0; w <= windows; w++) {
    const events =
      w < windows
        ? all.flatMap((s, g) => (s.values[w]! > 0 ? [{ g, v: s.values[w], dateTime: t0 + w * WINDOW_MS + 1 }] : []))
        : // One event a window later on, so the watermark makes the last window final.
          [{ g: 0, v: 0, dateTime: t0 + (w + 1) * WINDOW_MS }];
    await processor.process('shard-0', [toBatchRecord(packedRecord('shard-0', events))]);
  }
  const seconds = (Date.now() - started) / 1000;
  const evaluations: Evaluation[] = [];
  let differences = 0;
  const direct = createDetector(view.anomaly!);
  for (const [g, series] of all.entries()) {
    const { anomalies } = await store.listAnomalies(
      viewIdOf(view),
      { from: 0, to: t0 + 2 * windows * WINDOW_MS, groupKey: groupKeyOf([String(g)]) },
      1000,
      null,
    );
    const reported = anomalies.map((a) => (a.windowStart - t0) / WINDOW_MS);
    evaluations.push(evaluate(series, reported));
    const expected = scoreSeries(direct, series.values).reported;
    if (JSON.stringify(expected) !== JSON.stringify(reported)) differences++;
  }
  const r = combine(evaluations);
  const totals = store.meter.totals();
  const scored = windows * all.length;
  return {
    r: { ...r, series: all.length, microsPerWindow: (seconds * 1e6) / scored, stateBytes: 0 },
    differences,
    seconds,
    wcu: { detector: totals.byKind.detector?.wcu ?? 0, anomaly: totals.byKind.anomaly?.wcu ?? 0 },
    rcu: totals.byKind.detector?.rcu ?? 0,
    windows,
  };
}

async function main(): Promise<void> {
  const all = Array.from({ length: SERIES }, (_, i) => generateSeries(1000 + i));
  const windows = all.reduce((n, s) => n + s.values.length, 0);
  const counts = new Map(KINDS.map((k) => [k, all.flatMap((s) => s.anomalies).filter((a) => a.kind === k).length]));
  console.log(
    `Eddy anomaly bench: ${SERIES} seeded series × ${WINDOWS_PER_DAY * DAYS} 5-minute windows (${DAYS} days, ${windows} windows), ` +
      `daily + hourly pattern, trend, noise 1.5 √mean; injected ${[...counts].map(([k, n]) => `${n} ${k}s`).join(', ')}\n`,
  );
  const methods: Method[] = [
    { name: '3-sigma (baseline)', detector: threeSigma() as Detector<unknown> },
    { name: 'robust', detector: robustDetector() as Detector<unknown> },
    { name: 'robust, season 12', detector: robustDetector({ season: 12 }) as Detector<unknown> },
    {
      name: 'robust, season 12, low',
      detector: robustDetector({ season: 12, sensitivity: 'low' }) as Detector<unknown>,
    },
    {
      name: 'robust, season 12, high',
      detector: robustDetector({ season: 12, sensitivity: 'high' }) as Detector<unknown>,
    },
    { name: 'robust, season 288', detector: robustDetector({ season: 288 }) as Detector<unknown> },
    { name: 'rcf', detector: rcfDetector() as Detector<unknown>, budgetMs: RCF_BUDGET_MS },
  ];
  console.log(
    `  ${'method'.padEnd(30)} ${'kind'.padEnd(8)} ${'hits'.padStart(7)} recall precision    F1  delay  | false/1k  repeats  µs/window  state B`,
  );
  const measured: string[] = [];
  for (const method of methods) {
    const r = run(method, all);
    print(method.name, r, all.length);
    measured.push(failures(method.name, r));
    console.log('');
  }
  console.log(
    '  precision: hits / (hits + false alerts), over all kinds; F1 per kind from that precision and the kind’s recall.\n' +
      `  A hit is a report on an anomaly’s windows (a shift: its first ${SHIFT_TOLERANCE + 1}); delay is the median in windows;\n` +
      '  repeats are second reports of one anomaly; false alerts are blamed on an anomaly when within 36 windows after it.\n' +
      '  Target (issue 12): F1 ≥ 0.8 on spikes and level shifts with at most 1 false alert per 1,000 windows.',
  );
  const p = await throughThePipeline(all);
  console.log(
    `\nThrough the real aggregation path (${all.length} groups of one view, ${p.windows} 5-minute windows, one record a window, shard processor + emitter on the in-memory store, ${p.seconds.toFixed(1)} s):`,
  );
  print('robust, season 1h (12 windows)', p.r, all.length);
  console.log(
    `  series whose reports differ from scoring the values directly: ${p.differences} of ${all.length}\n` +
      `  detector state: ${(p.wcu.detector / p.windows).toFixed(2)} WCU and ${(p.rcu / p.windows).toFixed(2)} RCU per window for ${all.length} groups; anomalies: ${p.wcu.anomaly} WCU in all`,
  );
  console.log('\nWhere each method fails, measured here:');
  console.log(measured.join('\n'));
  console.log('And by construction:');
  for (const [name, text] of Object.entries(FAILURES)) console.log(`  ${name}: ${text}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
