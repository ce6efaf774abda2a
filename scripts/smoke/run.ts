/**
 * One smoke run against a deployed Eddy: read what it runs, send a small stream of the run's own events at
 * wall-clock time, keep the watermark moving with ticks until the run's windows are final, and check the
 * results, the conservation counters and the side outputs against what was sent.
 *
 * Every stage adds checks to the report; a stage the later ones depend on (reading the views, ingesting)
 * ends the run when it fails, so the report says what broke first instead of a cascade.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, type Auth, describeError, type Reply } from '../../cli/api-client.ts';
import { normalizeConfig, type PipelineConfig, type ViewSpec } from '../../lambdas/core/config.ts';
import { type ApiWindow, compareGroup, describeGroup } from './compare.ts';
import { RUN_FIELD, type SentEvent, SmokeEvents } from './events.ts';
import { type ExpectedGroup, expectedGroups, type GroupValues } from './expected.ts';
import type { Check, SmokeReport } from './report.ts';

export interface SmokeOptions {
  /** API base URL, with the stage: `https://{id}.execute-api.{region}.amazonaws.com/v1`, `http://127.0.0.1:3000`. */
  readonly url: string;
  /** @default { kind: 'none' } */
  readonly auth?: Auth;
  /** Seeds the event values. @default - random, printed in the report */
  readonly seed?: number;
  /** Give up waiting for the windows to turn final this long after the run started. @default 180 s */
  readonly timeoutMs?: number;
  /** Data events to send. @default 300 */
  readonly events?: number;
  /** Time between ticks (and between reads of the results). @default 1000 */
  readonly tickIntervalMs?: number;
  /** Progress lines while the run waits. @default - none */
  readonly log?: (line: string) => void;
}

export const DEFAULT_TIMEOUT_MS = 180_000;
export const DEFAULT_EVENTS = 300;
const DEFAULT_TICK_MS = 1_000;
/**
 * Events per POST: several requests, so the data lands in several Kinesis records, on several shards when the
 * stream has them, and the results are merged from partials of more than one shard as in production.
 */
const EVENTS_PER_REQUEST = 50;
/** How long to wait, after the windows are final, for the counters to show every event of the run as read. */
const COUNTERS_WAIT_MS = 30_000;
/** Pages of /late and /dead-letters to scan (newest first) for the run's events. */
const MAX_SIDE_PAGES = 20;
const SIDE_PAGE = 1000;
/** Result pages per group and read: a run's group has a handful of windows; this only bounds a runaway. */
const MAX_RESULT_PAGES = 10;
/** Concurrent reads of results: enough to read every group each second, few enough not to be throttled. */
const READ_CONCURRENCY = 6;
const PROGRESS_EVERY_MS = 5_000;

/** Defaults of the views config, for a deployment whose GET /views predates eventTimeField and watermark. */
const CONFIG_DEFAULTS = {
  eventTimeField: 'dateTime',
  outOfOrdernessMs: 4_000,
  allowedLatenessMs: 5_000,
  idleTimeoutMs: 30_000,
};

interface Counters {
  readonly accepted: number;
  readonly rejected: number;
  readonly processed: number;
  readonly late: number;
  readonly deadLettered: number;
  readonly inFlight: number;
}

/** One (view, group) the run reads: its windows that hold the run's data must turn final (unless shared sessions). */
interface Target {
  readonly view: ViewSpec;
  readonly key: string;
  readonly values: GroupValues;
  readonly owned: boolean;
  readonly query: Record<string, string | number>;
  /** Starts of the windows that must be visible and final; a shared group's sessions can stay open. */
  readonly required: readonly number[];
  /** End of the group's last window that holds the run's data, for the estimate of when all are final. */
  readonly lastEnd: number;
  latest: ApiWindow[];
  watermark: string | null;
}

class Abort extends Error {}

export async function runSmoke(options: SmokeOptions): Promise<SmokeReport> {
  return new SmokeRun(options).run();
}

class SmokeRun {
  private readonly started = Date.now();
  private readonly seed: number;
  private readonly runId = randomBytes(3).toString('hex');
  private readonly api: ApiClient;
  private readonly log: (line: string) => void;
  private readonly checks: Check[] = [];
  private readonly sent: SentEvent[] = [];
  private ticks = 0;
  private failedTicks = 0;
  private dataPostedAt: number | null = null;
  private to202Ms: number | null = null;
  private firstResultAt: number | null = null;
  private finalAt: number | null = null;

  constructor(private readonly options: SmokeOptions) {
    this.seed = options.seed ?? randomInt(2 ** 31);
    this.api = new ApiClient(options.url, options.auth);
    this.log = options.log ?? (() => undefined);
  }

  async run(): Promise<SmokeReport> {
    try {
      await this.health();
      const config = await this.views();
      const before = await this.counters();
      const events = new SmokeEvents(config, this.runId, this.seed);
      await this.ingest(config, events);
      const targets = this.targets(config, events);
      await this.waitUntilFinal(config, events, targets);
      this.compare(config, targets);
      await this.conservation(before);
      await this.sideOutputs();
    } catch (err) {
      if (!(err instanceof Abort)) this.add('run', false, `stopped: ${describeError(err)}`);
    }
    return this.report();
  }

  private report(): SmokeReport {
    const since = (t: number | null) => (t === null || this.dataPostedAt === null ? null : t - this.dataPostedAt);
    return {
      ok: this.checks.length > 0 && this.checks.every((c) => c.ok),
      url: this.options.url,
      runId: this.runId,
      seed: this.seed,
      startedAt: new Date(this.started).toISOString(),
      events: { data: this.sent.filter((s) => s.kind === 'data').length, ticks: this.ticks },
      timings: {
        to202Ms: this.to202Ms,
        firstResultMs: since(this.firstResultAt),
        finalMs: since(this.finalAt),
        totalMs: Date.now() - this.started,
      },
      checks: this.checks,
    };
  }

  private add(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    return ok;
  }

  /** Runs a request; a network failure becomes a failed check named `name`, and ends the run. */
  private async call(name: string, request: () => Promise<Reply>): Promise<Reply> {
    try {
      return await request();
    } catch (err) {
      this.add(name, false, `${describeError(err)} (${this.options.url})`);
      throw new Abort();
    }
  }

  private async health(): Promise<void> {
    const res = await this.call('health', () => this.api.get('/health'));
    const ok = res.status === 200 && (res.body as { status?: unknown })?.status === 'ok';
    this.add('health', ok, `GET /health ${res.status} ${brief(res.body)} in ${res.ms} ms`);
  }

  private async views(): Promise<PipelineConfig> {
    const res = await this.call('views', () => this.api.get('/views'));
    if (res.status !== 200) {
      this.add('views', false, `GET /views ${res.status} ${brief(res.body)}${authHint(res.status, this.options.auth)}`);
      throw new Abort();
    }
    const body = res.body as {
      views?: unknown;
      eventTimeField?: string;
      watermark?: { outOfOrdernessMs?: number; allowedLatenessMs?: number; idleTimeoutMs?: number };
    };
    // An older deployment lists only the views: assume the config defaults, and say so.
    const assumed = body.eventTimeField === undefined || body.watermark === undefined;
    const wm = { ...CONFIG_DEFAULTS, ...body.watermark };
    let config: PipelineConfig;
    try {
      config = normalizeConfig({
        eventTimeField: body.eventTimeField ?? CONFIG_DEFAULTS.eventTimeField,
        watermark: {
          outOfOrderness: wm.outOfOrdernessMs,
          allowedLateness: wm.allowedLatenessMs,
          idleTimeout: wm.idleTimeoutMs,
        },
        views: body.views as never,
      });
    } catch (err) {
      this.add('views', false, `GET /views returned views this check cannot read: ${describeError(err)}`);
      throw new Abort();
    }
    this.add(
      'views',
      true,
      `${config.views.length} views (${config.views.map((v) => v.name).join(', ')}); event time in ` +
        `'${config.eventTimeField}', out-of-orderness ${secs(config.outOfOrdernessMs)}, allowed lateness ` +
        `${secs(config.allowedLatenessMs)}, idle timeout ${secs(config.idleTimeoutMs)}` +
        (assumed ? ' (not in GET /views: assumed the defaults)' : ''),
    );
    return config;
  }

  /** GET /status's event counters, or null (the conservation check then fails, the rest goes on). */
  private async counters(): Promise<Counters | null> {
    try {
      const res = await this.api.get('/status');
      const events = (res.body as { events?: Counters })?.events;
      return res.status === 200 && events ? events : null;
    } catch {
      return null;
    }
  }

  private async ingest(config: PipelineConfig, events: SmokeEvents): Promise<void> {
    const total = this.options.events ?? DEFAULT_EVENTS;
    // Event times within the last second (less than half the allowed lateness): slightly out of order, as
    // real producers are, yet never late: the watermark cannot pass the arrival time.
    const spread = Math.min(1_000, Math.floor(config.allowedLatenessMs / 2));
    const problems: string[] = [];
    const latencies: number[] = [];
    let requests = 0;
    for (let i = 0; i < total; i += EVENTS_PER_REQUEST) {
      const now = Date.now();
      const batch = Array.from({ length: Math.min(EVENTS_PER_REQUEST, total - i) }, () => {
        const time = now - Math.floor(Math.random() * spread);
        const event = events.data();
        return { kind: 'data' as const, event: events.at(event, time), time };
      });
      this.dataPostedAt ??= now;
      const res = await this.call('ingest', () =>
        this.api.post(
          '/events',
          batch.map((s) => s.event),
        ),
      );
      requests++;
      latencies.push(res.ms);
      const body = res.body as { accepted?: number; rejected?: { index: number; error: string }[] };
      const rejected = new Set((body?.rejected ?? []).map((r) => r.index));
      if (res.status === 202 || res.status === 207) {
        this.sent.push(...batch.filter((_, index) => !rejected.has(index)));
      }
      if (res.status !== 202 || body?.accepted !== batch.length) {
        problems.push(`POST /events ${res.status} ${brief(res.body)}`);
      }
      if (res.status === 202 && this.to202Ms === null) this.to202Ms = res.ms;
    }
    const accepted = this.sent.length;
    const detail =
      `${accepted} of ${total} events accepted in ${requests} requests ` +
      `(202 after ${Math.min(...latencies)}–${Math.max(...latencies)} ms)`;
    this.add('ingest', problems.length === 0, problems.length === 0 ? detail : `${detail}; ${problems[0]}`);
    if (accepted === 0) throw new Abort();
  }

  /** The (view, group) pairs holding the run's data, with the windows that must turn final in each. */
  private targets(config: PipelineConfig, events: SmokeEvents): Target[] {
    const data = this.sent.filter((s) => s.kind === 'data');
    const first = Math.min(...data.map((s) => s.time));
    const last = Math.max(...data.map((s) => s.time));
    const targets: Target[] = [];
    for (const view of config.views) {
      for (const [key, group] of expectedGroups(view, data)) {
        const owned = events.ownsGroup(group.values);
        const w = view.window;
        // Windows starting in [from, to) hold the run's events: a sliding window may start a size earlier; a
        // session of the run's own group starts at its first event, a shared one may have started long before.
        const from = w.type === 'session' ? (owned ? first : this.started - 3_600_000) : first - w.sizeMs;
        const query: Record<string, string | number> = { from, to: last + 1, limit: 1000 };
        view.groupBy.forEach((field, i) => {
          const value = group.values[i];
          if (value !== null && value !== undefined) query[field] = value;
        });
        const required = w.type === 'session' && !owned ? [] : group.windows.map((win) => win.start);
        const lastEnd = Math.max(...group.windows.map((win) => win.end));
        targets.push({ view, key, values: group.values, owned, query, required, lastEnd, latest: [], watermark: null });
      }
    }
    return targets;
  }

  private async waitUntilFinal(config: PipelineConfig, events: SmokeEvents, targets: Target[]): Promise<void> {
    const interval = this.options.tickIntervalMs ?? DEFAULT_TICK_MS;
    const deadline = this.started + (this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const required = targets.reduce((n, t) => n + t.required.length, 0);
    const expectedFinal =
      Math.max(...targets.filter((t) => t.required.length > 0).map((t) => t.lastEnd)) +
      config.allowedLatenessMs +
      config.outOfOrdernessMs;
    this.log(
      `[smoke] ${this.sent.length} events in ${targets.length} groups of ${config.views.length} views; ` +
        `${required} windows should turn final in about ${secs(Math.max(0, expectedFinal - Date.now()))} ` +
        `(last window end + allowed lateness + out-of-orderness); a tick every ${interval} ms until then`,
    );
    let lastProgress = Date.now();
    let final = 0;
    for (;;) {
      const tickAt = Date.now();
      await this.tick(events);
      await forEachLimited(targets, READ_CONCURRENCY, (t) => this.read(t));
      const now = Date.now();
      // Only windows that hold the run's events: a shared group may show others' windows before them.
      const visible = targets.some((t) => t.latest.some((w) => t.required.includes(Date.parse(w.windowStart))));
      if (visible) this.firstResultAt ??= now;
      final = targets.reduce((n, t) => n + t.required.filter((s) => isFinal(t, s)).length, 0);
      if (final === required) {
        this.finalAt = now;
        break;
      }
      if (now >= deadline) break;
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        this.log(`[smoke] ${final}/${required} windows final, watermark ${targets[0]?.watermark ?? '-'}`);
      }
      await sleep(Math.max(0, tickAt + interval - Date.now()));
    }
    const firstDetail =
      this.firstResultAt === null
        ? 'no result of the run was ever visible'
        : `first result of the run visible ${secs(this.firstResultAt - this.dataPostedAt!)} after the first POST`;
    this.add('visible', this.firstResultAt !== null, firstDetail);
    const tickNote = `${this.ticks} ticks${this.failedTicks > 0 ? `, ${this.failedTicks} refused` : ''}`;
    if (this.finalAt !== null) {
      this.add(
        'final',
        true,
        `all ${required} windows of the run final ${secs(this.finalAt - this.dataPostedAt!)} after the first POST (${tickNote})`,
      );
    } else {
      const waiting = targets
        .filter((t) => t.required.some((s) => !isFinal(t, s)))
        .map((t) => `${t.view.name} ${describeGroup(t.view, t.values)}`);
      this.add(
        'final',
        false,
        `${final} of ${required} windows final when the ${secs(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS)} ` +
          `timeout passed (watermark ${targets[0]?.watermark ?? 'none'}, expected final around ` +
          `${new Date(expectedFinal).toISOString()}; ${tickNote}); not final: ${waiting.slice(0, 5).join('; ')}` +
          (waiting.length > 5 ? ` and ${waiting.length - 5} more` : ''),
      );
    }
  }

  /** One small event at wall time: it advances the watermark of the shard it lands on, and lands in no view. */
  private async tick(events: SmokeEvents): Promise<void> {
    const time = Date.now();
    const event = events.at(events.tick(), time);
    this.ticks++;
    try {
      const res = await this.api.post('/events', [event]);
      if (res.status === 202) this.sent.push({ kind: 'tick', event, time });
      else this.failedTicks++;
    } catch {
      // Unknown whether it was taken: leave it out. A tick lands in no checked group of a filtered view.
      this.failedTicks++;
    }
  }

  private async read(target: Target): Promise<void> {
    const windows: ApiWindow[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_RESULT_PAGES; page++) {
      const query: Record<string, string | number> = cursor ? { ...target.query, cursor } : target.query;
      const res = await this.api.get(`/views/${target.view.name}/results`, query).catch(() => null);
      // A failed read keeps the previous one: the next tick reads again, and the final check reports it.
      if (res === null || res.status !== 200) return;
      const body = res.body as { results: ApiWindow[]; nextCursor: string | null; watermark: string | null };
      windows.push(...body.results);
      target.watermark = body.watermark;
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    target.latest = windows;
  }

  private compare(config: PipelineConfig, targets: readonly Target[]): void {
    for (const view of config.views) {
      const mine = targets.filter((t) => t.view === view);
      if (mine.length === 0) {
        this.add(view.name, false, 'no event of the run belongs to this view');
        continue;
      }
      // Ticks are the run's events too: in a view without a filter and without groups they count.
      const expected = expectedGroups(view, this.sent);
      const problems: string[] = [];
      let exact = 0;
      let lowerBound = 0;
      let windows = 0;
      for (const t of mine) {
        const group: ExpectedGroup = expected.get(t.key)!;
        windows += group.windows.length;
        const result = compareGroup(view, group, t.latest, t.owned);
        problems.push(...result.problems);
        exact += result.exact;
        lowerBound += result.lowerBound;
      }
      const measures = view.measures.map((m) => m.name).join(', ');
      const groups =
        view.groupBy.length === 0
          ? 'the global group (other traffic may share it)'
          : mine.every((t) => t.owned)
            ? plural(mine.length, 'group')
            : `${plural(mine.length, 'group')} (other traffic may share them)`;
      const how =
        lowerBound === 0
          ? `${plural(exact, 'window')}: ${measures} as expected`
          : `${plural(exact, 'window')} as expected, ${lowerBound} with other traffic in them checked as bounds`;
      const detail = problems.length === 0 ? `${groups}, ${how}` : problems.slice(0, 3).join('; ');
      this.add(
        view.name,
        problems.length === 0 && windows > 0,
        problems.length > 3 ? `${detail} (and ${problems.length - 3} more)` : detail,
      );
    }
  }

  /**
   * accepted = processed + dead-lettered + in flight (late events are processed and set aside), and the run's
   * own events all show up: exactly when nothing else was accepted during the run, as lower bounds otherwise.
   */
  private async conservation(before: Counters | null): Promise<void> {
    const ours = this.sent.length;
    let after = await this.counters();
    const until = Date.now() + COUNTERS_WAIT_MS;
    const read = (c: Counters) => c.processed + c.deadLettered - (before!.processed + before!.deadLettered);
    while (before && after && read(after) < ours && Date.now() < until) {
      await sleep(500);
      after = (await this.counters()) ?? after;
    }
    if (before === null || after === null) {
      this.add('conservation', false, 'GET /status did not answer with its event counters');
      return;
    }
    const d = (k: keyof Counters) => after[k] - before[k];
    const identity = after.accepted === after.processed + after.deadLettered + after.inFlight;
    const quiet = d('accepted') === ours && d('rejected') === 0;
    const problems: string[] = [];
    if (!identity) problems.push('accepted ≠ processed + dead-lettered + in flight');
    if (d('accepted') < ours) problems.push(`accepted grew by ${d('accepted')}, fewer than the run's ${ours}`);
    if (read(after) < ours) problems.push(`only ${read(after)} events read since the run started, it sent ${ours}`);
    if (quiet && d('late') !== 0) problems.push(`late grew by ${d('late')}`);
    if (quiet && d('deadLettered') !== 0) problems.push(`dead-lettered grew by ${d('deadLettered')}`);
    const totals =
      `accepted ${after.accepted} = processed ${after.processed} (aggregated ${after.processed - after.late} + ` +
      `late ${after.late}) + dead-lettered ${after.deadLettered} + in flight ${after.inFlight}`;
    const run =
      `this run: ${ours} sent, accepted +${d('accepted')}, processed +${d('processed')}, late +${d('late')}, ` +
      `dead-lettered +${d('deadLettered')}` +
      (quiet ? '' : ' (other traffic during the run: checked as lower bounds)');
    this.add(
      'conservation',
      problems.length === 0,
      `${problems.length ? `${problems.join('; ')}; ` : ''}${totals}; ${run}`,
    );
  }

  /** None of the run's events may be late or dead-lettered: it sent them on time and well-formed. */
  private async sideOutputs(): Promise<void> {
    const found: string[] = [];
    let scanned = 0;
    for (const [path, key] of [
      ['/late', 'late'],
      ['/dead-letters', 'deadLetters'],
    ] as const) {
      let cursor: string | null = null;
      for (let page = 0; page < MAX_SIDE_PAGES; page++) {
        const res = await this.call('side outputs', () =>
          this.api.get(path, cursor ? { limit: SIDE_PAGE, cursor } : { limit: SIDE_PAGE }),
        );
        if (res.status !== 200) {
          this.add('side outputs', false, `GET ${path} ${res.status} ${brief(res.body)}`);
          return;
        }
        const body = res.body as Record<string, unknown> & { nextCursor: string | null };
        const entries = (body[key] ?? []) as { arrivedAt: string; reason: string; event: unknown }[];
        scanned += entries.length;
        for (const e of entries) {
          if ((e.event as Record<string, unknown> | null)?.[RUN_FIELD] === this.runId)
            found.push(`${path}: ${e.reason}`);
        }
        // Newest first: once a page reaches back before the run, the rest is older still.
        const oldest = Math.min(...entries.map((e) => Date.parse(e.arrivedAt)));
        cursor = body.nextCursor;
        if (cursor === null || entries.length === 0 || oldest < this.started - 60_000) break;
      }
    }
    this.add(
      'side outputs',
      found.length === 0,
      found.length === 0
        ? `no event of the run is late or dead-lettered (${scanned} recent entries read)`
        : `${found.length} of the run's events set aside: ${found.slice(0, 3).join('; ')}`,
    );
  }
}

function isFinal(target: Target, start: number): boolean {
  return target.latest.some((w) => Date.parse(w.windowStart) === start && w.final);
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function authHint(status: number, auth: Auth | undefined): string {
  if (status !== 401 && status !== 403) return '';
  if (auth === undefined || auth.kind === 'none') return ': the API wants credentials, pass --api-key KEY or --iam';
  return auth.kind === 'api-key'
    ? ': the API refused the API key (wrong key, or the API uses IAM: --iam)'
    : ': the API refused the SigV4 signature (credentials, region, or the API uses API keys: --api-key)';
}

/** A reply body cut to one short line for the report. */
function brief(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function secs(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1).replace(/\.0$/, '')} s`;
}
