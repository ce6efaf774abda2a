/** Starting the local pipeline for a test file and talking to it over real HTTP. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PipelineCounters } from '../../lambdas/core/conservation.ts';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline.ts';

export async function startPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  return startLocalPipeline({
    port: 0,
    dataDir: await mkdtemp(path.join(tmpdir(), 'eddy-e2e-')),
    log: () => undefined,
    // Two shards, so the watermark, registration and emission run across shards as on AWS.
    shards: 2,
    ...options,
    eventSource: {
      maxBatchingWindowSeconds: 0,
      idlePollMs: 50,
      retryBackoffMs: 20,
      maxRetryBackoffMs: 100,
      ...options.eventSource,
    },
  });
}

export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class Api {
  constructor(private readonly pipeline: LocalPipeline) {}

  async post(body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`${this.pipeline.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }

  // biome-ignore lint/suspicious/noExplicitAny: test replies are read field by field
  async get<T = any>(pathAndQuery: string): Promise<Reply<T>> {
    const res = await fetch(`${this.pipeline.url}${pathAndQuery}`);
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  }

  /** Waits until the aggregator has read everything put so far. */
  async drained(): Promise<void> {
    await this.pipeline.poller.drained(30_000);
  }

  /**
   * Posts `event` until every shard of the stream has read an event at least as new (GET /status
   * `shards[].maxEventTime`), so that every shard's watermark gets there: a single-event POST is one record
   * on a random shard, and the pipeline watermark is the lowest of the shards'.
   */
  async postOnEveryShard(event: { readonly dateTime: number | string }): Promise<void> {
    const time = typeof event.dateTime === 'number' ? event.dateTime : Date.parse(event.dateTime);
    for (let posts = 1; posts <= 50; posts++) {
      await this.post([event]);
      await this.drained();
      const { body } = await this.get<{ shards: Array<{ maxEventTime: string | null }> }>('/status');
      if (body.shards.every((s) => s.maxEventTime !== null && Date.parse(s.maxEventTime) >= time)) return;
    }
    throw new Error(`after 50 POSTs of an event at ${new Date(time).toISOString()}, a shard has not read one`);
  }

  /** GET /status's counters: everything the pipeline counted so far, for every test of the file. */
  async counts(): Promise<StatusCounts> {
    const { body } = await this.get<StatusCounts>('/status');
    return { events: body.events, lateByView: body.lateByView, requestsRejected: body.requestsRejected };
  }

  /**
   * How far GET /status's counters moved while `action` ran, from a drained pipeline to a drained pipeline:
   * what the test sent, whatever other tests sent before it. Tests of a file run one at a time.
   */
  async countsOf(action: () => Promise<unknown>): Promise<StatusCounts> {
    await this.drained();
    const before = await this.counts();
    await action();
    await this.drained();
    const after = await this.counts();
    return {
      events: difference(after.events, before.events),
      lateByView: difference(after.lateByView, before.lateByView),
      requestsRejected: after.requestsRejected - before.requestsRejected,
    };
  }
}

/** The counters of GET /status (or how far they moved). */
export interface StatusCounts {
  readonly events: PipelineCounters;
  readonly lateByView: Record<string, number>;
  readonly requestsRejected: number;
}

/** `after` less `before`, counter by counter (a counter `before` lacks counts from 0). */
function difference<T extends object>(after: T, before: T): T {
  const was = before as Record<string, number | undefined>;
  return Object.fromEntries(Object.entries(after).map(([key, n]) => [key, (n as number) - (was[key] ?? 0)])) as T;
}

/**
 * Event time for tests that share one pipeline. The watermark only moves forward, so each test takes a fresh
 * range of 10 s windows after everything earlier tests sent; nothing a test sends is late unless it means to.
 */
export class TestClock {
  private next: number;
  constructor(startAgoMs = 6 * 3_600_000) {
    const t = Date.now() - startAgoMs;
    this.next = t - (t % 10_000);
  }
  /** The start of `count` fresh 10 s windows, with a minute of room after them. */
  windows(count = 1): number {
    const start = this.next;
    this.next += count * 10_000 + 60_000;
    return start;
  }
}
