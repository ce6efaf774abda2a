/**
 * `eddy load`: posts an auction stream at a target rate from several concurrent senders, measures freshness
 * with probe events, and reports what the API and the pipeline did with it.
 *
 * Pacing: event k is due at start + k/rate. A sender takes every event that is due (up to a batch) as soon as a
 * batch is full or the oldest due event has waited LINGER_MS, so requests are large at high rates and events
 * wait little at low ones. Event times are taken when a batch is built. Every planned event is sent: when the
 * senders cannot keep up, due events queue, the run takes longer than its duration, and the report shows it
 * (the longest wait for a sender, the achieved rate). Ctrl-C stops sending and still reports what was sent; a
 * second Ctrl-C stops at once.
 *
 * Freshness: a probe is one event in a group of its own (a unique value in each groupBy field of a view it
 * matches), sent every probeIntervalMs; from the moment its POST is answered, its group's results are polled
 * until a window shows it. Freshness = visible − answered, as a user of the API would see it; polling every
 * POLL_MS bounds the error to that much.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { PipelineConfig, ViewSpec } from '../../lambdas/core/config.ts';
import type { ResultsReply } from '../commands/query.ts';
import type { StatusReply } from '../commands/status.ts';
import { type Api, viewPath } from '../connection.ts';
import type { Cli } from '../context.ts';
import { count } from '../format.ts';
import { UsageError } from '../options.ts';
import { postEvents } from '../post-events.ts';
import { AuctionStream, type EventKind } from './auction-stream.ts';
import { type LoadReport, summarize } from './report.ts';

export interface LoadOptions {
  /** Target events per second, over all senders. */
  readonly rate: number;
  /** Sending time; undefined: until `events` are sent. */
  readonly durationMs?: number;
  /** Events to send; undefined: rate × duration. */
  readonly events?: number;
  readonly seed: number;
  readonly outOfOrderMs: number;
  readonly lateFraction: number;
  readonly keys: number;
  readonly senders: number;
  readonly batch: number;
  /** The view probes go to; undefined: the first view a probe can have a group of its own in. */
  readonly probeView?: string;
  readonly probeIntervalMs: number;
  /** After the last POST: how long to wait for the backlog to drain and the probes to show. 0: do not wait. */
  readonly drainTimeoutMs: number;
  readonly progress: boolean;
}

/** How long a due event may wait for its batch to fill. */
const LINGER_MS = 100;
/** Probe results are read this often: the resolution of the freshness figures. */
const POLL_MS = 100;
/** Probe POSTs in flight at once, when the API answers slower than probes are due. */
const MAX_PROBE_POSTS = 8;
/** Probes polled at once: when the pipeline lags, probes pile up, and polling them all would add load. */
const MAX_POLLED_PROBES = 4;
const STATUS_INTERVAL_MS = 1_000;
const DRAIN_STATUS_INTERVAL_MS = 250;
/** Events/s in the progress bar: accepted events over this much recent time. */
const RATE_WINDOW_MS = 3_000;

interface ProbeTarget {
  readonly view: ViewSpec;
  readonly event: (value: string, timeMs: number) => Record<string, unknown>;
}

interface Probe {
  readonly value: string;
  readonly answeredAt: number;
  visibleAt?: number;
}

/** A view a probe can have a group of its own in: grouped, and its filter and groups on different fields. */
export function probeTarget(config: PipelineConfig, name: string | undefined): ProbeTarget | string {
  const usable = (v: ViewSpec) =>
    v.groupBy.length > 0 &&
    !v.groupBy.includes(config.eventTimeField) &&
    !v.where.some(([field]) => v.groupBy.includes(field) || field === config.eventTimeField);
  const view = name === undefined ? config.views.find(usable) : config.views.find((v) => v.name === name);
  if (name !== undefined && view === undefined) {
    throw new UsageError(`--probe-view: no view '${name}'; views: ${config.views.map((v) => v.name).join(', ')}`);
  }
  if (view === undefined) return 'no view has a groupBy field a probe event can set: freshness not measured';
  if (!usable(view)) {
    throw new UsageError(`--probe-view: view '${view.name}' has no groupBy field a probe can have to itself`);
  }
  return {
    view,
    event: (value, timeMs) => ({
      ...Object.fromEntries(view.where),
      ...Object.fromEntries(view.groupBy.map((f) => [f, value])),
      [config.eventTimeField]: timeMs,
    }),
  };
}

/** Far enough behind the clock that every view's window holding the event is final: late in all of them. */
export function lateByMs(config: PipelineConfig, outOfOrderMs: number): number {
  const longest = Math.max(
    0,
    ...config.views.map((v) => (v.window.type === 'session' ? v.window.gapMs : v.window.sizeMs)),
  );
  return longest + config.outOfOrdernessMs + config.allowedLatenessMs + outOfOrderMs + 1_000;
}

export class LoadRun {
  private readonly runId = randomBytes(3).toString('hex');
  private readonly planned: number;
  private readonly stream: AuctionStream;
  private readonly target: ProbeTarget | string;
  private bar: cliProgress.SingleBar | undefined;

  private startedAt = 0;
  /** Aborted when the senders are done: the probe and status loops stop. */
  private readonly sending = new AbortController();
  /** Ctrl-C: senders stop taking events. */
  private interrupted = false;
  private probeSenderDone = false;
  private taken = 0;
  private requestCount = 0;
  private retries = 0;
  private accepted = 0;
  private rejected = 0;
  private readonly reasons = new Map<string, number>();
  private readonly refused: string[] = [];
  private readonly kinds: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  private late = 0;
  private readonly postMs: number[] = [];
  private firstSentAt: number | undefined;
  private lastAnsweredAt = 0;
  /** The longest a due event waited to be sent: about LINGER_MS when the senders keep up. */
  private maxSendDelayMs = 0;

  private readonly probes: Probe[] = [];
  private probeFailures = 0;
  private readonly acceptedSamples: Array<{ at: number; accepted: number }> = [];
  private backlog: number | null = null;

  constructor(
    private readonly api: Api,
    private readonly cli: Cli,
    config: PipelineConfig,
    private readonly options: LoadOptions,
  ) {
    const fromDuration =
      options.durationMs === undefined
        ? Number.POSITIVE_INFINITY
        : Math.floor((options.rate * options.durationMs) / 1_000);
    this.planned = Math.min(options.events ?? fromDuration, fromDuration);
    if (this.planned < 1) {
      throw new UsageError(`--rate ${options.rate} for --duration ${options.durationMs} ms is less than one event`);
    }
    this.stream = new AuctionStream({
      seed: options.seed,
      keys: options.keys,
      outOfOrderMs: options.outOfOrderMs,
      lateFraction: options.lateFraction,
      lateByMs: lateByMs(config, options.outOfOrderMs),
      eventTimeField: config.eventTimeField,
    });
    this.target = probeTarget(config, options.probeView);
  }

  async run(): Promise<LoadReport> {
    const before = await this.api.get<StatusReply>('/status');
    const baselineBacklog = before.events.inFlight ?? 0;
    this.startBar();
    this.startedAt = performance.now();
    const startedWall = Date.now();
    const statusLoop = this.pollStatus();
    const probeLoops =
      typeof this.target === 'string' ? [] : [this.sendProbes(this.target), this.pollProbes(this.target)];
    const onSigint = () => {
      if (this.interrupted) {
        this.bar?.stop();
        process.exit(130);
      }
      this.interrupted = true;
    };
    process.on('SIGINT', onSigint);
    let drainedAfterMs: number | null;
    try {
      await Promise.all(Array.from({ length: this.options.senders }, () => this.sender()));
      this.sending.abort();
      await statusLoop;
      drainedAfterMs = await this.drain(baselineBacklog);
      await Promise.all(probeLoops);
    } finally {
      process.off('SIGINT', onSigint);
      // On an error too: no loop may keep the process alive, and the terminal gets its line back.
      this.sending.abort();
      this.stopProbes = true;
      this.bar?.stop();
    }
    const after = await this.api.get<StatusReply>('/status');
    return summarize({
      url: this.api.url,
      options: this.options,
      planned: this.planned,
      startedAt: new Date(startedWall).toISOString(),
      sent: { events: this.taken, requests: this.requestCount, retries: this.retries, ...this.kinds, late: this.late },
      accepted: this.accepted,
      rejected: this.rejected,
      reasons: this.reasons,
      refused: this.refused,
      elapsedMs: this.firstSentAt === undefined ? 0 : this.lastAnsweredAt - this.firstSentAt,
      maxSendDelayMs: this.maxSendDelayMs,
      postMs: this.postMs,
      probes:
        typeof this.target === 'string'
          ? { view: null, reason: this.target }
          : {
              view: this.target.view.name,
              sent: this.probes.length,
              failed: this.probeFailures,
              freshnessMs: this.probes.flatMap((p) => (p.visibleAt === undefined ? [] : [p.visibleAt - p.answeredAt])),
              pollIntervalMs: POLL_MS,
            },
      before: before.events,
      after: after.events,
      drainedAfterMs,
      waitedMs: this.options.drainTimeoutMs,
    });
  }

  private async sender(): Promise<void> {
    const { rate, batch } = this.options;
    for (;;) {
      const now = performance.now();
      if (this.taken >= this.planned || this.interrupted) return;
      // Event k is due at startedAt + k / rate.
      const due = Math.min(this.planned, Math.floor(((now - this.startedAt) * rate) / 1_000) + 1);
      const available = due - this.taken;
      const oldestDueAt = this.startedAt + (this.taken * 1_000) / rate;
      if (available <= 0) {
        await sleep(Math.max(1, oldestDueAt - now));
        continue;
      }
      if (available < batch && now - oldestDueAt < LINGER_MS && due < this.planned) {
        const batchFullAt = this.startedAt + ((this.taken + batch - 1) * 1_000) / rate;
        await sleep(Math.max(1, Math.min(oldestDueAt + LINGER_MS, batchFullAt) - now));
        continue;
      }
      this.maxSendDelayMs = Math.max(this.maxSendDelayMs, now - oldestDueAt);
      const n = Math.min(available, batch);
      this.taken += n;
      const events = this.stream.take(n, Date.now());
      for (const e of events) {
        this.kinds[e.kind]++;
        if (e.late) this.late++;
      }
      this.firstSentAt ??= performance.now();
      const outcome = await postEvents(this.api, {
        body: JSON.stringify(events.map((e) => e.event)),
        contentType: 'application/json',
        events: n,
        idempotencyKey: `eddy-load-${this.runId}-${this.requestCount++}`,
      });
      this.lastAnsweredAt = Math.max(this.lastAnsweredAt, outcome.answeredAt);
      this.retries += outcome.attempts - 1;
      this.postMs.push(outcome.ms);
      this.accepted += outcome.accepted;
      this.rejected += outcome.rejected.length;
      if (outcome.refused !== null) this.refused.push(outcome.refused);
      for (const r of outcome.rejected) this.reasons.set(r.error, (this.reasons.get(r.error) ?? 0) + 1);
      this.updateBar();
    }
  }

  /** A probe every probeIntervalMs, whatever the POST latency, so that a slow API does not thin the samples. */
  private async sendProbes(target: ProbeTarget): Promise<void> {
    const posting = new Set<Promise<void>>();
    for (let n = 0; !this.sending.signal.aborted; n++) {
      if (posting.size < MAX_PROBE_POSTS) {
        const post = this.sendProbe(target, n).finally(() => posting.delete(post));
        posting.add(post);
      }
      await this.pause(this.options.probeIntervalMs);
    }
    await Promise.all(posting);
    this.probeSenderDone = true;
  }

  private async sendProbe(target: ProbeTarget, n: number): Promise<void> {
    const value = `eddy-probe-${this.runId}-${n}`;
    const outcome = await postEvents(this.api, {
      body: JSON.stringify(target.event(value, Date.now())),
      contentType: 'application/json',
      events: 1,
      idempotencyKey: value,
    });
    if (outcome.accepted === 1) this.probes.push({ value, answeredAt: outcome.answeredAt });
    else this.probeFailures++;
  }

  private stopProbes = false;

  private async pollProbes(target: ProbeTarget): Promise<void> {
    for (;;) {
      const pending = this.probes.filter((p) => p.visibleAt === undefined);
      if (this.stopProbes || (this.probeSenderDone && pending.length === 0)) return;
      await Promise.all(
        pending.slice(0, MAX_POLLED_PROBES).map(async (probe) => {
          const query = Object.fromEntries(target.view.groupBy.map((f) => [f, probe.value]));
          const reply = await this.api
            .get<ResultsReply>(viewPath(target.view.name, 'results'), query)
            .catch(() => null);
          if (reply !== null && reply.results.length > 0) probe.visibleAt = performance.now();
        }),
      );
      await sleep(POLL_MS);
    }
  }

  /** Backlog for the progress bar while sending; drain() reads /status itself after. */
  private async pollStatus(): Promise<void> {
    while (!this.sending.signal.aborted) {
      const status = await this.api.get<StatusReply>('/status').catch(() => null);
      if (status !== null) this.updateBar(status);
      await this.pause(STATUS_INTERVAL_MS);
    }
  }

  /** Sleeps, or less when sending ends. */
  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.sending.signal }).catch(() => undefined);
  }

  /** Waits for the pipeline to read what was sent and for the probes to show; the time it took, or null. */
  private async drain(baselineBacklog: number): Promise<number | null> {
    if (this.options.drainTimeoutMs === 0) {
      this.stopProbes = true;
      return null;
    }
    const deadline = this.lastAnsweredAt + this.options.drainTimeoutMs;
    for (;;) {
      const probesShown =
        typeof this.target === 'string' ||
        (this.probeSenderDone && this.probes.every((p) => p.visibleAt !== undefined));
      const status = await this.api.get<StatusReply>('/status').catch(() => null);
      if (status !== null) this.updateBar(status);
      const now = performance.now();
      if (probesShown && this.backlog !== null && this.backlog <= Math.max(0, baselineBacklog)) {
        return now - this.lastAnsweredAt;
      }
      if (now >= deadline || this.interrupted) {
        this.stopProbes = true;
        return null;
      }
      await sleep(DRAIN_STATUS_INTERVAL_MS);
    }
  }

  private startBar(): void {
    if (!this.options.progress) return;
    const total = Number.isFinite(this.planned) ? this.planned : 0;
    this.bar = new cliProgress.SingleBar(
      {
        format:
          'load [{bar}] {percentage}% | sent {sent}/{planned} | accepted {accepted} | rejected {rejected} | ' +
          '{rate} events/s | backlog {backlog} | {duration_formatted}',
        stream: this.cli.stderr,
        barsize: 20,
        // Piped (a CI log, a test), print a line a second instead of redrawing.
        noTTYOutput: true,
        notTTYSchedule: 1_000,
      },
      cliProgress.Presets.legacy,
    );
    this.bar.start(total, 0, this.payload());
  }

  private updateBar(status?: StatusReply): void {
    if (status) {
      this.backlog = status.events.inFlight ?? null;
    }
    const now = performance.now();
    this.acceptedSamples.push({ at: now, accepted: this.accepted });
    while (this.acceptedSamples.length > 2 && this.acceptedSamples[0]!.at < now - RATE_WINDOW_MS)
      this.acceptedSamples.shift();
    this.bar?.update(this.taken, this.payload());
  }

  private payload() {
    const first = this.acceptedSamples[0];
    const last = this.acceptedSamples.at(-1);
    const rate =
      first && last && last.at > first.at ? ((last.accepted - first.accepted) * 1_000) / (last.at - first.at) : 0;
    return {
      sent: count(this.taken),
      planned: Number.isFinite(this.planned) ? count(this.planned) : '∞',
      accepted: count(this.accepted),
      rejected: count(this.rejected),
      rate: count(Math.round(rate)),
      backlog: this.backlog === null ? '-' : count(this.backlog),
    };
  }
}
