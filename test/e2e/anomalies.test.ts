/**
 * Anomaly detection over HTTP: a view's detector scores its final windows, GET /anomalies lists what it
 * reported, GET /views/{view}/results shows each scored window's score, and the local runtime prints one line
 * per anomaly and POSTs it to the alert webhook (a node:http receiver here), retrying a refusal.
 *
 * One stream of orders feeds three views with a detector: 20 shops with a steady count per 1 s window for the
 * detector's warm-up and 15 windows more, and in one window one shop gets ×5 the orders. The spike's orders come
 * from channel 'app', the rest from 'web': `web_orders_by_shop` counts the web orders only, so it sees the same
 * series without the spike (the clean stream). `retried_orders_by_shop` counts what `orders_by_shop` counts; the
 * receiver refuses its alert twice.
 */

import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../lambdas/core/anomaly/scoring.ts';
import { type EddyConfig, normalizeConfig, type ViewConfig } from '../../lambdas/core/config.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline } from './support.ts';

const countByShop = (name: string, where: Record<string, string>): ViewConfig => ({
  name,
  where,
  groupBy: ['shop'],
  window: { type: 'tumbling', size: '1s' },
  measures: [{ fn: 'count' }],
  anomaly: { measure: 'count', method: 'robust' },
});

const config = {
  eventTimeField: 'dateTime',
  // Small bounds: a 1 s window turns final as soon as the next window's events arrive.
  watermark: { outOfOrderness: '100ms', allowedLateness: '100ms' },
  views: [
    countByShop('orders_by_shop', { type: 'order' }),
    countByShop('web_orders_by_shop', { type: 'order', channel: 'web' }),
    countByShop('retried_orders_by_shop', { type: 'order' }),
    {
      name: 'refunds_by_shop',
      where: { type: 'refund' },
      groupBy: ['shop'],
      window: { type: 'tumbling', size: '1s' },
      measures: [{ fn: 'count' }],
    },
  ],
} satisfies EddyConfig;

const WINDOW_MS = 1_000;
const SHOPS = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`);
const WARM_UP = createDetector(normalizeConfig(config).views[0]!.anomaly!).warmUpWindows;
const WINDOWS = WARM_UP + 15;
const SPIKE_SHOP = 's07';
const SPIKE_WINDOW = WARM_UP + 5;
/** A window of the spiky shop that is scored and not reported. */
const QUIET_WINDOW = WARM_UP + 10;
/**
 * About 20 orders a shop a window (18–22, varying by shop and window): at that level the detector's typical
 * error is the Poisson noise, ×5 is about 7 of them (reported from 5), and ±10% well under 1.
 */
const ordersOf = (shop: number, window: number) => 18 + ((shop * 7 + window * 3) % 5);
const SPIKE_ORDERS = 5 * ordersOf(SHOPS.indexOf(SPIKE_SHOP), SPIKE_WINDOW);

// Event time, whole seconds, well behind the wall clock (retention counts from when a window is compacted).
const T0 = Math.floor((Date.now() - 3_600_000) / WINDOW_MS) * WINDOW_MS;
const windowStart = (w: number) => T0 + w * WINDOW_MS;
const iso = (t: number) => new Date(t).toISOString();

interface Delivery {
  readonly at: number;
  readonly status: number;
  readonly body: { id: string; view: string; group: Record<string, string>; windowStart: string; value: number };
}

let pipeline: LocalPipeline;
let api: Api;
let receiver: Server;
const deliveries: Delivery[] = [];
const lines: string[] = [];
/** The receiver refuses this view's alerts this many times, then takes them. */
let refusalsLeft = 2;
const WEBHOOK_BACKOFF_MS = 150;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => {
      text += part;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as Delivery['body'];
      const refuse = body.view === 'retried_orders_by_shop' && refusalsLeft > 0;
      if (refuse) refusalsLeft--;
      const status = refuse ? 500 : 200;
      deliveries.push({ at: Date.now(), status, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;

  const configFile = path.join(tmpdir(), `eddy-anomalies-views-${process.pid}.json`);
  await writeFile(configFile, JSON.stringify(config));
  pipeline = await startPipeline({
    configFile,
    alertWebhook: `http://127.0.0.1:${port}/hook`,
    alerts: { pollMs: 100, webhookAttempts: 4, webhookBackoffMs: WEBHOOK_BACKOFF_MS },
    log: (line) => lines.push(line),
  });
  api = new Api(pipeline);

  const events: Array<Record<string, unknown>> = [];
  for (let w = 0; w < WINDOWS; w++) {
    for (const [s, shop] of SHOPS.entries()) {
      const web = ordersOf(s, w);
      const app = shop === SPIKE_SHOP && w === SPIKE_WINDOW ? SPIKE_ORDERS - web : 0;
      for (let i = 0; i < web + app; i++) {
        const dateTime = windowStart(w) + Math.floor((i * WINDOW_MS) / (web + app));
        events.push({ type: 'order', shop, channel: i < web ? 'web' : 'app', dateTime });
      }
    }
  }
  // In event-time order, so that no shard ever reads an event behind its own watermark.
  events.sort((a, b) => (a.dateTime as number) - (b.dateTime as number));
  for (let i = 0; i < events.length; i += 500) {
    const reply = await api.post(events.slice(i, i + 500));
    expect(reply.status).toBe(202);
  }
  // Every shard past the last window's end plus the lateness bounds, with an event no view counts: every
  // window turns final.
  const tick = { type: 'tick', dateTime: windowStart(WINDOWS + 1) };
  await api.postOnEveryShard(tick);
  await waitFor('every window of every scored view compacted, and both alerts delivered', async () => {
    for (const view of ['orders_by_shop', 'web_orders_by_shop', 'retried_orders_by_shop']) {
      const last = await api.get(`/views/${view}/results?shop=s00&from=${windowStart(WINDOWS - 1)}`);
      // A final window carries its score once compacted (scored): the one the watermark made final last.
      if (last.body.results[0]?.anomaly === undefined) return false;
    }
    return deliveries.filter((d) => d.status === 200).length >= 2;
  });
  // Anything the alert poller still had to find, it finds within a few polls.
  await new Promise((resolve) => setTimeout(resolve, 500));
}, 120_000);

afterAll(async () => {
  await pipeline?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`gave up waiting after ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Window = {
  windowStart: string;
  final: boolean;
  measures: { count: number };
  anomaly?: { score: number; expected: { low: number; high: number }; reported: boolean };
};

describe('a spike after the warm-up', () => {
  it('is listed by GET /anomalies, once', async () => {
    const res = await api.get('/anomalies?view=orders_by_shop');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      anomalies: [
        {
          view: 'orders_by_shop',
          group: { shop: SPIKE_SHOP },
          windowStart: iso(windowStart(SPIKE_WINDOW)),
          windowEnd: iso(windowStart(SPIKE_WINDOW + 1)),
          measure: 'count',
          value: SPIKE_ORDERS,
          score: expect.any(Number),
          expected: { low: expect.any(Number), high: expect.any(Number) },
          detectedAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    expect(res.body.anomalies[0].expected.high).toBeLessThan(SPIKE_ORDERS);
  });

  it('is listed for its own group only', async () => {
    const own = await api.get(`/anomalies?view=orders_by_shop&shop=${SPIKE_SHOP}`);
    const other = await api.get('/anomalies?view=orders_by_shop&shop=s08');

    expect(own.body.anomalies.map((a: { group: unknown }) => a.group)).toEqual([{ shop: SPIKE_SHOP }]);
    expect(other.body).toEqual({ anomalies: [], nextCursor: null });
  });

  it('is POSTed to the webhook once, with its id', () => {
    const posted = deliveries.filter((d) => d.body.view === 'orders_by_shop');

    expect(posted.map((d) => [d.status, d.body.id, d.body.group, d.body.windowStart, d.body.value])).toEqual([
      [
        200,
        expect.stringMatching(/^orders_by_shop\//),
        { shop: SPIKE_SHOP },
        iso(windowStart(SPIKE_WINDOW)),
        SPIKE_ORDERS,
      ],
    ]);
  });

  it('is printed as one line', () => {
    const printed = lines.filter((line) => /^\[\d\d:\d\d:\d\d\] anomaly orders_by_shop /.test(line));

    expect(printed).toEqual([
      expect.stringContaining(
        `anomaly orders_by_shop shop=${SPIKE_SHOP} ${iso(windowStart(SPIKE_WINDOW)).replace('.000Z', 'Z')}+1s: count ${SPIKE_ORDERS} above expected`,
      ),
    ]);
  });

  it('marks its window reported in the group’s results, and a scored ordinary window not', async () => {
    const res = await api.get(`/views/orders_by_shop/results?shop=${SPIKE_SHOP}&limit=1000`);
    const byStart = new Map((res.body.results as Window[]).map((w) => [w.windowStart, w]));

    expect(byStart.get(iso(windowStart(SPIKE_WINDOW)))).toMatchObject({
      final: true,
      measures: { count: SPIKE_ORDERS },
      anomaly: { reported: true },
    });
    expect(byStart.get(iso(windowStart(QUIET_WINDOW)))).toMatchObject({ final: true, anomaly: { reported: false } });
  });

  it('leaves the warm-up windows unscored', async () => {
    const res = await api.get(`/views/orders_by_shop/results?shop=${SPIKE_SHOP}&limit=1000`);
    const scored = (res.body.results as Window[]).filter((w) => w.anomaly).map((w) => w.windowStart);

    expect(scored[0]).toBe(iso(windowStart(WARM_UP)));
    expect(scored).toHaveLength(WINDOWS - WARM_UP);
  });
});

describe('a clean stream', () => {
  it('reports nothing after the warm-up', async () => {
    const res = await api.get('/anomalies?view=web_orders_by_shop');
    const scored = await api.get(`/views/web_orders_by_shop/results?shop=${SPIKE_SHOP}&limit=1000`);

    expect(res.body).toEqual({ anomalies: [], nextCursor: null });
    expect(deliveries.filter((d) => d.body.view === 'web_orders_by_shop')).toEqual([]);
    expect(lines.filter((line) => line.includes('anomaly web_orders_by_shop'))).toEqual([]);
    // Scored all the same: the clean view's windows after the warm-up carry a score.
    expect((scored.body.results as Window[]).filter((w) => w.anomaly?.reported === false)).toHaveLength(
      WINDOWS - WARM_UP,
    );
  });
});

describe('a webhook that refuses', () => {
  it('gets the same alert again, with backoff, until it takes it', () => {
    const posted = deliveries.filter((d) => d.body.view === 'retried_orders_by_shop');

    expect(posted.map((d) => d.status)).toEqual([500, 500, 200]);
    expect(new Set(posted.map((d) => JSON.stringify(d.body))).size).toBe(1);
    expect(posted[0]!.body).toMatchObject({ group: { shop: SPIKE_SHOP }, windowStart: iso(windowStart(SPIKE_WINDOW)) });
    // Doubling from webhookBackoffMs (timers may fire a millisecond early).
    expect(posted[1]!.at - posted[0]!.at).toBeGreaterThanOrEqual(WEBHOOK_BACKOFF_MS - 5);
    expect(posted[2]!.at - posted[1]!.at).toBeGreaterThanOrEqual(2 * WEBHOOK_BACKOFF_MS - 5);
    expect(lines.filter((line) => line.includes('gave up'))).toEqual([]);
  });
});

describe('GET /anomalies', () => {
  it('requires a view, naming the views with a detector', async () => {
    const res = await api.get('/anomalies');

    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'view: required; views with an anomaly detector: orders_by_shop, web_orders_by_shop, retried_orders_by_shop',
    );
  });

  it('refuses a view without a detector', async () => {
    const res = await api.get('/anomalies?view=refunds_by_shop');

    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^view: 'refunds_by_shop' has no anomaly detector/);
  });

  it('refuses an unknown parameter', async () => {
    const res = await api.get('/anomalies?view=orders_by_shop&store=s07');

    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^unknown parameter 'store'; view 'orders_by_shop' takes group fields shop/);
  });
});
