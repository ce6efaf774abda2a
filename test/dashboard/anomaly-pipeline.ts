/**
 * A local pipeline whose one view has an anomaly detector, fed a series with one spike after the warm-up:
 * shared by the dashboard's and the CLI's anomaly tests, which read what the detector reported.
 *
 * 12 shops count orders per 1 s tumbling window, about 20 each (18–22, varying by shop and window), for the
 * detector's warm-up and 12 windows more; in one window after the warm-up, one shop has five times as many.
 * Event time is an hour behind the wall clock, so nothing is late and the tests need not wait for real time.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDetector } from '../../lambdas/core/anomaly/scoring.ts';
import { type EddyConfig, normalizeConfig } from '../../lambdas/core/config.ts';
import type { LocalPipeline, LocalPipelineOptions } from '../../local/pipeline.ts';
import { Api, startPipeline } from '../e2e/support.ts';

export const ANOMALY_VIEW = 'orders_by_shop';

const config = {
  eventTimeField: 'dateTime',
  // Small bounds: a 1 s window turns final as soon as the next window's events arrive.
  watermark: { outOfOrderness: '100ms', allowedLateness: '100ms' },
  views: [
    {
      name: ANOMALY_VIEW,
      groupBy: ['shop'],
      window: { type: 'tumbling', size: '1s' },
      measures: [{ fn: 'count' }],
      anomaly: { measure: 'count', method: 'robust' },
    },
  ],
} satisfies EddyConfig;

const WINDOW_MS = 1_000;
const SHOPS = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);
const WARM_UP = createDetector(normalizeConfig(config).views[0]!.anomaly!).warmUpWindows;
const WINDOWS = WARM_UP + 12;
const SPIKE_WINDOW = WARM_UP + 5;
const ordersOf = (shop: number, window: number) => 18 + ((shop * 7 + window * 3) % 5);

const T0 = Math.floor((Date.now() - 3_600_000) / WINDOW_MS) * WINDOW_MS;
const windowStart = (w: number) => T0 + w * WINDOW_MS;

/** The spike the detector is to report. */
export const SPIKE = {
  shop: 's03',
  windowStart: windowStart(SPIKE_WINDOW),
  orders: 5 * ordersOf(3, SPIKE_WINDOW),
} as const;

/**
 * Starts the pipeline, posts the series, and returns once every window but the last is final and scored (so
 * the spike's anomaly is stored).
 */
export async function startAnomalyPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const configFile = path.join(tmpdir(), `eddy-anomaly-views-${process.pid}-${Date.now()}.json`);
  await writeFile(configFile, JSON.stringify(config));
  // One shard: every POST moves the one watermark.
  const pipeline = await startPipeline({ configFile, shards: 1, ...options });
  try {
    const api = new Api(pipeline);
    const events: Array<Record<string, unknown>> = [];
    for (let w = 0; w <= WINDOWS; w++) {
      // The window after the last only moves the watermark past the last one's end.
      for (const [s, shop] of (w === WINDOWS ? SHOPS.slice(0, 1) : SHOPS).entries()) {
        const n = shop === SPIKE.shop && w === SPIKE_WINDOW ? SPIKE.orders : ordersOf(s, w);
        for (let i = 0; i < n; i++) events.push({ shop, dateTime: windowStart(w) + Math.floor((i * WINDOW_MS) / n) });
      }
    }
    // In event-time order, so that no event is behind the watermark.
    events.sort((a, b) => (a.dateTime as number) - (b.dateTime as number));
    for (let i = 0; i < events.length; i += 500) {
      const reply = await api.post(events.slice(i, i + 500));
      if (reply.status !== 202) throw new Error(`POST /events answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    const until = Date.now() + 60_000;
    // The last window of the series is final and scored once its result carries an anomaly score.
    for (;;) {
      const last = await api.get(`/views/${ANOMALY_VIEW}/results?shop=s00&from=${windowStart(WINDOWS - 1)}`);
      if (last.body.results?.[0]?.anomaly !== undefined) break;
      if (Date.now() > until) throw new Error(`the last window of ${ANOMALY_VIEW} was not scored within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return pipeline;
  } catch (err) {
    await pipeline.stop();
    throw err;
  }
}
