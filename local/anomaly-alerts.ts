/**
 * Locally, what the table's stream and the publish function do on AWS for anomalies: each anomaly a detector
 * reports is printed as one line and, with `--alert-webhook URL`, POSTed there as JSON.
 *
 * Anomalies are read from the table, not taken from the emitter: a window's anomalies are all written before
 * its compacted item, and a view with a detector compacts its windows in order, so every anomaly up to the
 * view's latest compacted window is there to read, and read once here. The webhook is called from a queue of
 * its own, retried with backoff, so a slow or failing receiver never holds the pipeline up; what it still
 * refuses after the retries is logged and dropped (the anomaly stays listed by GET /anomalies).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { END_OF_TIME } from '../lambdas/adapters/window-reader.ts';
import { anomalyId, anomalyLine, anomalyReport } from '../lambdas/core/anomaly/report.ts';
import type { ViewSpec } from '../lambdas/core/config.ts';
import { viewIdOf } from '../lambdas/core/group.ts';
import type { StateStore, StoredAnomaly } from '../lambdas/core/store.ts';

export interface AnomalyAlertsOptions {
  readonly store: Pick<StateStore, 'getLatestCompacted' | 'listAnomalies'>;
  readonly views: readonly ViewSpec[];
  readonly log: (line: string) => void;
  /** POST each anomaly here (http or https). @default - no webhook */
  readonly webhookUrl?: string;
  /** How often the table is read. @default 1000 */
  readonly pollMs?: number;
  /** Webhook attempts per anomaly, and the first retry's delay (doubling). @default 6, 500 */
  readonly webhookAttempts?: number;
  readonly webhookBackoffMs?: number;
}

export interface AnomalyAlerts {
  /** Anomalies reported so far (printed, and queued for the webhook). */
  readonly reported: number;
  stop(): Promise<void>;
}

/** A receiver that does not answer within this is retried. */
const WEBHOOK_TIMEOUT_MS = 5_000;
const PAGE = 100;

export async function startAnomalyAlerts(options: AnomalyAlertsOptions): Promise<AnomalyAlerts> {
  const { store, log, webhookUrl } = options;
  const attempts = options.webhookAttempts ?? 6;
  const backoffMs = options.webhookBackoffMs ?? 500;
  // Per view: anomalies of windows from `from` on are still to report, after `cursor` when a read stopped halfway.
  const views = options.views
    .filter((v) => v.anomaly)
    .map((v) => ({ view: v, viewId: viewIdOf(v), from: 0, cursor: null as string | null }));
  // Anomalies of a pipeline restarted on kept state were reported by the run that found them.
  for (const v of views) {
    const latest = await store.getLatestCompacted(v.viewId, END_OF_TIME);
    v.from = latest ? latest.windowStart + 1 : 0;
  }
  const queue: StoredAnomaly[] = [];
  // Aborted by stop(): ends the worker, and a webhook request or backoff in progress with it.
  const stopping = new AbortController();
  const stopped = () => stopping.signal.aborted;
  let reported = 0;
  let wake: (() => void) | undefined;

  const deliver = async (a: StoredAnomaly): Promise<void> => {
    const body = JSON.stringify({ id: anomalyId(a), ...anomalyReport(a) });
    let reason = '';
    for (let attempt = 1; attempt <= attempts && !stopped(); attempt++) {
      try {
        const res = await fetch(webhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(WEBHOOK_TIMEOUT_MS), stopping.signal]),
        });
        if (res.ok) return;
        reason = `HTTP ${res.status}`;
      } catch (err) {
        reason = (err as Error).message;
      }
      if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1), stopping.signal);
    }
    if (!stopped()) log(`[alerts] the webhook refused ${anomalyId(a)} ${attempts} times (${reason}); gave up on it`);
  };

  const webhookWorker = (async () => {
    while (!stopped()) {
      const next = queue.shift();
      if (next) await deliver(next);
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  })();

  const poll = async () => {
    for (const v of views) {
      const latest = await store.getLatestCompacted(v.viewId, END_OF_TIME);
      if (!latest || latest.windowStart < v.from) continue;
      const to = latest.windowStart + 1;
      do {
        const page = await store.listAnomalies(v.viewId, { from: v.from, to }, PAGE, v.cursor);
        for (const a of page.anomalies) {
          reported++;
          log(`[${new Date().toISOString().slice(11, 19)}] ${anomalyLine(a)}`);
          if (webhookUrl) queue.push(a);
        }
        // Kept at once: a read that fails later goes on from here, not from the start (nothing twice).
        v.cursor = page.nextCursor;
      } while (v.cursor);
      v.from = to;
      wake?.();
    }
  };

  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(poll).catch((err) => log(`[alerts] reading anomalies failed: ${(err as Error).message}`));
  }, options.pollMs ?? 1_000);
  timer.unref();

  return {
    get reported() {
      return reported;
    },
    async stop() {
      clearInterval(timer);
      await polling;
      // Windows compacted since the last look (the poller's last batches): reported before stopping.
      await poll().catch((err) => log(`[alerts] reading anomalies failed: ${(err as Error).message}`));
      stopping.abort();
      wake?.();
      await webhookWorker;
    },
  };
}

/** Waits `ms`, or less if `signal` aborts first; never keeps the process alive. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal, ref: false }).catch(() => undefined);
}
