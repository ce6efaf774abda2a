/** What `eddy load` reports: as JSON (`--json`) for scripts and as text for people. */
import { count, duration, number, percentile } from '../format.ts';
import type { LoadOptions } from './run.ts';

interface Stats {
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export interface LoadReport {
  readonly ok: boolean;
  /** Why the run failed (exit code 1); empty when ok. */
  readonly failures: readonly string[];
  readonly url: string;
  readonly startedAt: string;
  readonly seed: number;
  readonly target: {
    readonly rate: number;
    readonly durationMs: number | null;
    readonly events: number;
    readonly senders: number;
    readonly batch: number;
    readonly keys: number;
    readonly outOfOrderMs: number;
    readonly lateFraction: number;
  };
  readonly sent: {
    readonly events: number;
    /** Planned events not sent: the run was stopped with Ctrl-C. */
    readonly unsent: number;
    readonly requests: number;
    readonly retries: number;
    readonly person: number;
    readonly auction: number;
    readonly bid: number;
    /** Events given an old time on purpose (--late-fraction). */
    readonly late: number;
  };
  readonly accepted: number;
  readonly rejected: number;
  /** Rejected events by the API's reason, most frequent first. */
  readonly rejections: ReadonlyArray<{ readonly reason: string; readonly events: number }>;
  /** Requests refused as a whole (or never answered), after retries: status and body as the API wrote them. */
  readonly refusedRequests: readonly string[];
  /** First POST sent to last POST answered. */
  readonly elapsedMs: number;
  /** Accepted events per second of elapsed time. */
  readonly achievedRate: number;
  /** The longest a due event waited for a sender (LINGER_MS when they keep up). */
  readonly maxSendDelayMs: number;
  readonly postLatencyMs: Stats;
  readonly freshness:
    | {
        readonly view: string;
        readonly probes: number;
        readonly visible: number;
        readonly failedPosts: number;
        readonly pollIntervalMs: number;
        readonly ms: Stats;
      }
    | { readonly view: null; readonly reason: string };
  /** /status after the run minus /status before it (other traffic included). */
  readonly pipeline: {
    readonly accepted: number;
    readonly processed: number;
    readonly late: number;
    readonly deadLettered: number;
    readonly backlogAfter: number | null;
    /** Last POST answered to backlog drained and every probe visible; null if not within the wait. */
    readonly drainedAfterMs: number | null;
    readonly drainWaitMs: number;
  };
}

export interface RunFigures {
  readonly url: string;
  readonly options: LoadOptions;
  readonly planned: number;
  readonly startedAt: string;
  readonly sent: Omit<LoadReport['sent'], 'unsent'>;
  readonly accepted: number;
  readonly rejected: number;
  readonly reasons: ReadonlyMap<string, number>;
  readonly refused: readonly string[];
  readonly elapsedMs: number;
  readonly maxSendDelayMs: number;
  readonly postMs: readonly number[];
  readonly probes:
    | {
        readonly view: string;
        readonly sent: number;
        readonly failed: number;
        readonly freshnessMs: readonly number[];
        readonly pollIntervalMs: number;
      }
    | { readonly view: null; readonly reason: string };
  readonly before: Readonly<Record<string, number>>;
  readonly after: Readonly<Record<string, number>>;
  readonly drainedAfterMs: number | null;
  readonly waitedMs: number;
}

function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  if (sorted.length === 0) return { count: 0, p50: null, p99: null, max: null, mean: null };
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1)!),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

export function summarize(f: RunFigures): LoadReport {
  const o = f.options;
  const delta = (key: string) => (f.after[key] ?? 0) - (f.before[key] ?? 0);
  const freshness: LoadReport['freshness'] =
    f.probes.view === null
      ? f.probes
      : {
          view: f.probes.view,
          probes: f.probes.sent,
          visible: f.probes.freshnessMs.length,
          failedPosts: f.probes.failed,
          pollIntervalMs: f.probes.pollIntervalMs,
          ms: stats(f.probes.freshnessMs),
        };
  const failures: string[] = [];
  if (f.rejected > 0) failures.push(`${count(f.rejected)} events rejected`);
  if (f.sent.events < f.planned) failures.push(`stopped after ${count(f.sent.events)} of ${count(f.planned)} events`);
  if (f.refused.length > 0) failures.push(`${f.refused.length} requests refused`);
  if (freshness.view !== null) {
    if (freshness.failedPosts > 0) failures.push(`${freshness.failedPosts} probe POSTs failed`);
    if (f.waitedMs > 0 && freshness.visible < freshness.probes) {
      failures.push(`${freshness.probes - freshness.visible} probes never visible within ${duration(f.waitedMs)}`);
    }
  }
  if (f.waitedMs > 0 && f.drainedAfterMs === null) {
    failures.push(`backlog not drained within ${duration(f.waitedMs)} of the last POST`);
  }
  return {
    ok: failures.length === 0,
    failures,
    url: f.url,
    startedAt: f.startedAt,
    seed: o.seed,
    target: {
      rate: o.rate,
      durationMs: o.durationMs ?? null,
      events: f.planned,
      senders: o.senders,
      batch: o.batch,
      keys: o.keys,
      outOfOrderMs: o.outOfOrderMs,
      lateFraction: o.lateFraction,
    },
    sent: { ...f.sent, unsent: f.planned - f.sent.events },
    accepted: f.accepted,
    rejected: f.rejected,
    rejections: [...f.reasons]
      .map(([reason, events]) => ({ reason, events }))
      .sort((a, b) => b.events - a.events)
      .slice(0, 20),
    refusedRequests: f.refused.slice(0, 20),
    elapsedMs: Math.round(f.elapsedMs),
    achievedRate: f.elapsedMs > 0 ? Math.round((f.accepted * 10_000) / f.elapsedMs) / 10 : 0,
    maxSendDelayMs: Math.round(f.maxSendDelayMs),
    postLatencyMs: stats(f.postMs),
    freshness,
    pipeline: {
      accepted: delta('accepted'),
      processed: delta('processed'),
      late: delta('late'),
      deadLettered: delta('deadLettered'),
      backlogAfter: f.after.inFlight ?? null,
      drainedAfterMs: f.drainedAfterMs === null ? null : Math.round(f.drainedAfterMs),
      drainWaitMs: f.waitedMs,
    },
  };
}

function ms(n: number | null): string {
  return n === null ? '-' : duration(n);
}

export function formatLoadReport(r: LoadReport): string {
  const t = r.target;
  const s = r.sent;
  const plan =
    t.durationMs === null
      ? `${count(t.events)} events at ${count(t.rate)} events/s`
      : `${count(t.rate)} events/s for ${duration(t.durationMs)} (${count(t.events)} events)`;
  const lines = [
    `eddy load: ${r.url}, seed ${r.seed}, ${t.senders} senders, up to ${t.batch} events a request, ${count(t.keys)} keys`,
    `  target     ${plan}`,
    `  sent       ${count(s.events)} events in ${count(s.requests)} requests (${count(s.person)} persons, ` +
      `${count(s.auction)} auctions, ${count(s.bid)} bids; ${count(s.late)} late on purpose), ${count(s.retries)} retried` +
      (s.unsent > 0 ? `; ${count(s.unsent)} not sent (stopped)` : ''),
    `  accepted   ${count(r.accepted)}   rejected ${count(r.rejected)}`,
    ...r.rejections.map((x) => `             ${count(x.events)} × ${x.reason}`),
    ...r.refusedRequests.map((x) => `             request refused: ${x}`),
    `  achieved   ${number(r.achievedRate)} events/s accepted over ${duration(r.elapsedMs)} (first POST sent → last answered); ` +
      `longest wait for a sender ${duration(r.maxSendDelayMs)}`,
    `  POST       p50 ${ms(r.postLatencyMs.p50)} · p99 ${ms(r.postLatencyMs.p99)} · max ${ms(r.postLatencyMs.max)} ` +
      `(${count(r.postLatencyMs.count)} requests)`,
  ];
  const f = r.freshness;
  if (f.view === null) lines.push(`  freshness  ${f.reason}`);
  else {
    lines.push(
      `  freshness  p50 ${ms(f.ms.p50)} · p99 ${ms(f.ms.p99)} · max ${ms(f.ms.max)} (${f.visible} of ${f.probes} probes ` +
        `on ${f.view}: POST answered → visible in its results, polled every ${f.pollIntervalMs} ms)`,
    );
  }
  const p = r.pipeline;
  const drained =
    p.drainWaitMs === 0
      ? 'not waited for'
      : p.drainedAfterMs === null
        ? `not drained within ${duration(p.drainWaitMs)}`
        : `drained ${duration(p.drainedAfterMs)} after the last POST`;
  lines.push(
    `  pipeline   accepted +${count(p.accepted)} · processed +${count(p.processed)} · late +${count(p.late)} · ` +
      `dead-lettered +${count(p.deadLettered)} · backlog ${p.backlogAfter === null ? '-' : count(p.backlogAfter)}, ${drained}`,
  );
  lines.push(r.ok ? 'OK' : `FAIL: ${r.failures.join('; ')}`);
  return lines.join('\n');
}
