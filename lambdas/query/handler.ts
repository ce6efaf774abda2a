/**
 * Read side of the API: GET /views, /views/{view}/results, /status, /late, /dead-letters, /failed-batches,
 * /emitted, /health.
 * Every error names the parameter that is wrong and what would be accepted.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { shardIdleAfterMs } from '../../config/event-source.ts';
import type { DynamoStateStore } from '../adapters/dynamo-state-store.ts';
import { createStateStore, loadPipelineConfig, logger } from '../adapters/environment.ts';
import { HttpError, json } from '../adapters/http.ts';
import type { ShardState, SideKind, StoredFailedBatch } from '../adapters/state-store.ts';
import { readWindowGroups } from '../adapters/window-groups.ts';
import { END_OF_TIME, WindowReader } from '../adapters/window-reader.ts';
import { MAX_GROUP_KEY_BYTES } from '../core/batch-aggregator.ts';
import type { EddyConfig, PipelineConfig, ViewSpec } from '../core/config.ts';
import { pipelineCounters } from '../core/conservation.ts';
import { MAX_EVENT_TIME, parseEventTime } from '../core/event-time.ts';
import { groupKeyOf } from '../core/group.ts';
import { defaultOrderBy, orderableResults, type RankPosition, rankGroups } from '../core/group-ranking.ts';
import {
  isIdle,
  isRedriveShard,
  pipelineWatermark,
  resultsWatermark,
  shardWatermark,
  type WatermarkSettings,
} from '../core/watermark.ts';
import { isFinal } from '../core/windows/index.ts';
import type { QUERY_STORE_CALLS } from './permissions.ts';

const rawConfig = JSON.parse(process.env.EDDY_CONFIG ?? '{}') as EddyConfig;
const config: PipelineConfig = loadPipelineConfig();
// Typed to the calls the function is granted (./permissions.ts): calling anything else does not compile.
const store: Pick<DynamoStateStore, (typeof QUERY_STORE_CALLS)[number]> = createStateStore();
const readers = new Map(config.views.map((v) => [v.name, new WindowReader(v, store)]));

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    switch (event.resource) {
      case '/health':
        await store.ping();
        return json(200, { status: 'ok' });
      case '/views':
        return json(200, views());
      case '/views/{view}/results':
        return json(200, await results(event.pathParameters?.view ?? '', event.queryStringParameters ?? {}));
      case '/views/{view}/groups':
        return json(200, await groups(event.pathParameters?.view ?? '', event.queryStringParameters ?? {}));
      case '/status':
        return json(200, await status());
      case '/late':
        return json(200, await sideRecords('late', event.queryStringParameters ?? {}));
      case '/dead-letters':
        return json(200, await sideRecords('dead', event.queryStringParameters ?? {}));
      case '/failed-batches':
        return json(200, await failedBatches(event.queryStringParameters ?? {}));
      case '/emitted':
        return json(200, await emitted(event.queryStringParameters ?? {}));
      default:
        return json(404, { error: `no route for ${event.httpMethod} ${event.path}` });
    }
  } catch (err) {
    if (err instanceof HttpError) return json(err.statusCode, { error: err.message });
    logger.error('query failed', { error: err as Error, resource: event.resource });
    if (event.resource === '/health') return json(503, { status: 'unavailable' });
    throw err;
  }
};

type Params = Record<string, string | undefined>;

/**
 * The views as configured, with the event-time field and the watermark settings (normalized to milliseconds)
 * beside them: a client that builds events for a deployment it did not configure, such as `npm run smoke`,
 * needs to know which field carries event time and how long windows take to turn final.
 */
function views() {
  return {
    views: rawConfig.views,
    eventTimeField: config.eventTimeField,
    watermark: {
      outOfOrdernessMs: config.outOfOrdernessMs,
      allowedLatenessMs: config.allowedLatenessMs,
      idleTimeoutMs: config.idleTimeoutMs,
    },
  };
}

/** Times in query parameters read as event times do: epoch milliseconds, or ISO-8601 with a zone. */
function parseTime(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const digits = /^\d+$/.test(value);
  const parsed = parseEventTime(digits ? Number(value) : value, name);
  if (!parsed.ok) {
    if (digits && Number(value) > MAX_EVENT_TIME) {
      throw new HttpError(
        400,
        `${name}: ${value} ms is after 9999-12-31T23:59:59.999Z; leave ${name} out for no bound`,
      );
    }
    throw new HttpError(
      400,
      `${name}: '${value}' is not a time; use epoch milliseconds or ISO-8601 with a zone (2026-11-24T10:00:00Z)`,
    );
  }
  return parsed.time;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new HttpError(400, `limit: '${value}' must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

/**
 * Sort-key cursors (late, dead letters, emitted) travel as opaque base64url text, safe in a query string. The
 * sort keys they hold are a few hundred bytes at most; a longer one is not a cursor this API returned, and would
 * pass DynamoDB's 1,024-byte sort-key limit in the key condition.
 */
const MAX_CURSOR_KEY_BYTES = 1000;

function keyCursor(value: string | undefined): string | null {
  if (value === undefined) return null;
  const key = Buffer.from(value, 'base64url').toString('utf8');
  const bytes = Buffer.byteLength(key);
  if (bytes === 0 || bytes > MAX_CURSOR_KEY_BYTES || Buffer.from(key).toString('base64url') !== value) {
    throw new HttpError(
      400,
      'cursor: not a cursor this API returned; pass nextCursor from the previous page unchanged',
    );
  }
  return key;
}

function toKeyCursor(key: string | null): string | null {
  return key === null ? null : Buffer.from(key).toString('base64url');
}

function encodeCursor(start: number): string {
  return Buffer.from(JSON.stringify({ s: start })).toString('base64url');
}

function decodeCursor(value: string): number {
  try {
    const { s } = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { s: unknown };
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0) return s;
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'cursor: not a cursor this API returned; pass nextCursor from the previous page unchanged');
}

function findView(name: string): ViewSpec {
  const view = config.views.find((v) => v.name === name);
  if (!view) {
    throw new HttpError(404, `view '${name}' does not exist; views: ${config.views.map((v) => v.name).join(', ')}`);
  }
  return view;
}

const watermarks: WatermarkSettings = {
  outOfOrdernessMs: config.outOfOrdernessMs,
  idleAfterMs: shardIdleAfterMs(config.idleTimeoutMs),
};

/** The watermark results are final against (see resultsWatermark). */
async function currentWatermark(states?: readonly ShardState[]): Promise<number | null> {
  const [shards, emittedThrough] = await Promise.all([states ?? store.getShardStates(), store.getEmittedThrough()]);
  return resultsWatermark(pipelineWatermark(shards, Date.now(), watermarks), emittedThrough);
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

async function results(viewName: string, params: Params) {
  const view = findView(viewName);
  const known = new Set([...view.groupBy, 'from', 'to', 'limit', 'cursor']);
  const unknown = Object.keys(params).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    const groups = view.groupBy.length > 0 ? `group fields ${view.groupBy.join(', ')}` : 'no group fields';
    throw new HttpError(
      400,
      `unknown parameter ${unknown.map((k) => `'${k}'`).join(', ')}; view '${view.name}' takes ${groups}, from, to, limit, cursor`,
    );
  }
  const group = view.groupBy.map((field) => params[field] ?? null);
  const groupKey = groupKeyOf(group);
  // The group key is part of DynamoDB's partition key (at most 2,048 bytes; a longer one fails the request).
  // No stored group is longer than MAX_GROUP_KEY_BYTES: events with such groups are dead-lettered.
  if (Buffer.byteLength(groupKey) > MAX_GROUP_KEY_BYTES) {
    const given = view.groupBy.filter((f) => params[f] !== undefined);
    throw new HttpError(
      400,
      `${given.join(', ')}: group values too long (${Buffer.byteLength(groupKey)} bytes as a group key; at most ${MAX_GROUP_KEY_BYTES}, and no longer group is ever stored)`,
    );
  }
  const from = params.cursor ? decodeCursor(params.cursor) : parseTime(params.from, 'from', 0);
  const to = parseTime(params.to, 'to', END_OF_TIME);
  const limit = parseLimit(params.limit);
  const watermark = await currentWatermark();
  const page = await readers.get(view.name)!.read(groupKey, {
    from,
    to,
    limit,
    watermark,
    allowedLatenessMs: config.allowedLatenessMs,
  });
  return {
    view: view.name,
    group: Object.fromEntries(view.groupBy.map((f, i) => [f, group[i]])),
    watermark: iso(watermark),
    results: page.windows.map((w) => ({
      windowStart: iso(w.windowStart),
      windowEnd: iso(w.windowEnd),
      final: w.final,
      measures: w.measures,
    })),
    nextCursor: page.nextStart === null ? null : encodeCursor(page.nextStart),
  };
}

async function status() {
  const [states, ingest, failed] = await Promise.all([
    store.getShardStates(),
    store.getIngestCounts(),
    allFailedBatches(),
  ]);
  const now = Date.now();
  // Batches of the event stream (the publisher's are results not put on the bus, not events) not redriven yet.
  const aggregateBatches = failed.filter((b) => b.source === 'aggregate');
  const pending = aggregateBatches.filter((b) => b.redrive === null);
  const { events, lateByView } = pipelineCounters(
    states,
    ingest,
    config.views.map((v) => v.name),
    pending.reduce((sum, b) => sum + (b.events ?? 0), 0),
  );
  const watermark = await currentWatermark(states);
  return {
    events,
    requestsRejected: ingest.requestsRejected,
    failedBatches: {
      pending: pending.length,
      records: pending.reduce((sum, b) => sum + b.records, 0),
      eventsUnknown: pending.filter((b) => b.events === null).length,
      redriven: aggregateBatches.length - pending.length,
    },
    lateByView,
    watermark: iso(watermark),
    // The stream's shards; a redrive's shard is a given-up batch, shown by GET /failed-batches.
    shards: states
      .filter((s) => !isRedriveShard(s.shardId))
      .map((s) => {
        const wm = shardWatermark(s, config.outOfOrdernessMs);
        return {
          shardId: s.shardId,
          watermark: Number.isFinite(wm) ? iso(wm) : null,
          maxEventTime: iso(s.maxEventTime),
          lastBatchAt: iso(s.lastActivityMs),
          idle: isIdle(s, now, watermarks.idleAfterMs),
          batches: s.batches,
          processed: s.counters.processed,
        };
      }),
  };
}

async function sideRecords(kind: SideKind, params: Params) {
  const allowed = new Set(['limit', 'cursor', 'view']);
  const unknown = Object.keys(params).filter((k) => !allowed.has(k));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown parameter ${unknown.map((k) => `'${k}'`).join(', ')}; use limit, cursor, view`);
  const limit = parseLimit(params.limit);
  if (params.view !== undefined) findView(params.view);
  const page = await store.listSideRecords(kind, limit, keyCursor(params.cursor));
  const entries = page.records.flatMap((r) =>
    r.entries
      .filter((e) => params.view === undefined || e.view === params.view)
      .map((e) => ({
        arrivedAt: iso(r.arrivalMs),
        shardId: r.shardId,
        sequenceNumber: r.seq.replace(/^0+(?=\d)/, ''),
        index: e.index,
        ...(e.view ? { view: e.view } : {}),
        reason: e.reason,
        event: e.event,
      })),
  );
  return { [kind === 'late' ? 'late' : 'deadLetters']: entries, nextCursor: toKeyCursor(page.nextCursor) };
}

/** Every given-up batch: few (each is an alarm), so /status can sum them. */
async function allFailedBatches(): Promise<StoredFailedBatch[]> {
  const all: StoredFailedBatch[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listFailedBatches(MAX_LIMIT, cursor);
    all.push(...page.batches);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

/** Batches the event source mappings gave up on, the most recent first, and whether each was redriven. */
async function failedBatches(params: Params) {
  const allowed = new Set(['limit', 'cursor']);
  const unknown = Object.keys(params).filter((k) => !allowed.has(k));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown parameter ${unknown.map((k) => `'${k}'`).join(', ')}; use limit, cursor`);
  const page = await store.listFailedBatches(parseLimit(params.limit), keyCursor(params.cursor));
  return {
    failedBatches: page.batches.map((b) => ({
      source: b.source,
      shardId: b.shardId,
      startSequenceNumber: b.startSequenceNumber,
      endSequenceNumber: b.endSequenceNumber,
      records: b.records,
      events: b.events,
      reason: b.reason,
      invokeCount: b.invokeCount,
      failedAt: iso(b.failedAtMs),
      firstArrivalAt: iso(b.firstArrivalMs),
      lastArrivalAt: iso(b.lastArrivalMs),
      redrive:
        b.redrive === null
          ? null
          : {
              at: iso(b.redrive.atMs),
              shardId: b.redrive.shardId,
              processed: b.redrive.processed,
              late: b.redrive.late,
              deadLettered: b.redrive.deadLettered,
            },
    })),
    nextCursor: toKeyCursor(page.nextCursor),
  };
}

/**
 * Final results as published, in window-end order. Only results below the point where nothing can still be
 * published are listed (the watermark minus the allowed lateness, and the earliest window still awaiting
 * emission), so a consumer that polls with `nextCursor` never skips one that is published later.
 */
async function emitted(params: Params) {
  const allowed = new Set(['view', 'limit', 'cursor']);
  const unknown = Object.keys(params).filter((k) => !allowed.has(k));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown parameter ${unknown.map((k) => `'${k}'`).join(', ')}; use view, limit, cursor`);
  if (params.view === undefined) {
    throw new HttpError(400, `view: required; one of ${config.views.map((v) => v.name).join(', ')}`);
  }
  const view = findView(params.view);
  if (!view.emit)
    throw new HttpError(400, `view: '${view.name}' does not publish its results (emit: false in the config)`);
  const reader = readers.get(view.name)!;
  const limit = parseLimit(params.limit);
  const [watermark, [pending]] = await Promise.all([
    currentWatermark(),
    store.listOpenWindows(reader.viewId, END_OF_TIME, 1),
  ]);
  const final = watermark === null ? 0 : watermark - config.allowedLatenessMs + 1;
  const completeBefore = Math.min(final, pending?.readyAt ?? END_OF_TIME);
  const page = await store.listEmitted(reader.viewId, completeBefore, limit, keyCursor(params.cursor));
  return {
    view: reader.view.name,
    completeThrough: completeBefore > 0 ? iso(completeBefore - 1) : null,
    results: page.results.map((r) => ({
      group: r.group,
      windowStart: iso(r.windowStart),
      windowEnd: iso(r.windowEnd),
      measures: r.measures,
      emittedAt: iso(r.emittedAt),
    })),
    nextCursor: toKeyCursor(page.nextCursor),
  };
}

/**
 * Every group of one window ranked by a scalar result: "the top auctions of the last 10 seconds". The window
 * is `latest` (the newest whose start is at or below the watermark) or a window start; the groups come from
 * lambdas/adapters/window-groups.ts, which needs the emitter's entries: views with `emit: false` and session
 * views (whose windows start per group) are refused by name.
 */
async function groups(viewName: string, params: Params) {
  const view = findView(viewName);
  const allowed = new Set(['window', 'orderBy', 'order', 'limit', 'cursor']);
  const unknown = Object.keys(params).filter((k) => !allowed.has(k));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      `unknown parameter ${unknown.map((k) => `'${k}'`).join(', ')}; use window, orderBy, order, limit, cursor`,
    );
  }
  const window = view.window;
  if (window.type === 'session') {
    throw new HttpError(
      400,
      `view: '${view.name}' has session windows, which start and end per group; /groups ranks the groups of one tumbling or sliding window (read a group's sessions with /views/${view.name}/results)`,
    );
  }
  if (!view.emit) {
    throw new HttpError(
      400,
      `view: '${view.name}' does not publish its results (emit: false in the config), and the groups of a window are found through what the emitter records; read one group with /views/${view.name}/results`,
    );
  }
  const orderable = orderableResults(view);
  const orderBy = params.orderBy ?? defaultOrderBy(view);
  if (orderBy === null || !orderable.includes(orderBy)) {
    throw new HttpError(
      400,
      orderable.length === 0
        ? `orderBy: view '${view.name}' has no numeric result to order groups by`
        : `orderBy: ${params.orderBy === undefined ? 'required' : `'${params.orderBy}' is not a numeric result of view '${view.name}'`}; use one of ${orderable.join(', ')}`,
    );
  }
  const order = params.order ?? 'desc';
  if (order !== 'desc' && order !== 'asc') throw new HttpError(400, `order: '${order}' must be desc or asc`);
  const limit = parseLimit(params.limit);
  const cursor = params.cursor === undefined ? null : decodeGroupCursor(params.cursor, orderBy, order);

  const watermark = await currentWatermark();
  let windowStart: number | null;
  if (cursor !== null) {
    // A page continues the window of the first page, even when `latest` has moved on since.
    windowStart = cursor.windowStart;
    if (params.window !== undefined && params.window !== 'latest' && parseWindowStart(params.window) !== windowStart) {
      throw new HttpError(400, `cursor: belongs to window ${iso(windowStart)}, not ${params.window}`);
    }
  } else if (params.window === undefined || params.window === 'latest') {
    windowStart = watermark === null ? null : watermark - (watermark % window.slideMs);
  } else {
    windowStart = parseWindowStart(params.window);
  }
  if (windowStart !== null && windowStart % window.slideMs !== 0) {
    const before = windowStart - (windowStart % window.slideMs);
    throw new HttpError(
      400,
      `window: '${params.window}' is not the start of a window of view '${view.name}'; its windows start every ${window.slideMs} ms (${iso(before)}, ${iso(before + window.slideMs)}, ...), or use latest`,
    );
  }
  const base = { view: view.name, orderBy, order };
  // No watermark yet (nothing processed, or a shard holds it back): no window is the latest.
  if (windowStart === null)
    return { ...base, windowStart: null, windowEnd: null, final: false, groups: [], nextCursor: null };

  const windowEnd = windowStart + window.sizeMs;
  const all = await readWindowGroups(store, readers.get(view.name)!, windowStart);
  const page = rankGroups(all, orderBy, order, limit, cursor?.after ?? null);
  return {
    ...base,
    windowStart: iso(windowStart),
    windowEnd: iso(windowEnd),
    final: watermark !== null && isFinal(windowEnd, watermark, config.allowedLatenessMs),
    groups: page.groups.map((g) => ({ group: g.group, measures: g.measures })),
    nextCursor: page.next === null ? null : encodeGroupCursor(windowStart, orderBy, order, page.next),
  };
}

function parseWindowStart(value: string): number {
  const parsed = parseEventTime(/^\d+$/.test(value) ? Number(value) : value, 'window');
  if (!parsed.ok) {
    throw new HttpError(
      400,
      `window: '${value}' is not a window start; use latest, epoch milliseconds or ISO-8601 with a zone (2026-11-24T10:00:00Z)`,
    );
  }
  return parsed.time;
}

/** A /groups cursor: the window, the ordering it was made for, and the last group of the page. */
function encodeGroupCursor(windowStart: number, orderBy: string, order: string, after: RankPosition): string {
  return Buffer.from(
    JSON.stringify({ w: windowStart, o: orderBy, d: order, v: after.value, g: after.groupKey }),
  ).toString('base64url');
}

function decodeGroupCursor(
  value: string,
  orderBy: string,
  order: string,
): { windowStart: number; after: RankPosition } {
  let cursor: { w?: unknown; o?: unknown; d?: unknown; v?: unknown; g?: unknown } | undefined;
  try {
    cursor = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    // refused below
  }
  const { w, o, d, v, g } = cursor ?? {};
  if (
    typeof w !== 'number' ||
    !Number.isInteger(w) ||
    w < 0 ||
    w > END_OF_TIME ||
    typeof o !== 'string' ||
    typeof d !== 'string' ||
    (v !== null && typeof v !== 'number') ||
    typeof g !== 'string' ||
    Buffer.byteLength(g) > MAX_GROUP_KEY_BYTES
  ) {
    throw new HttpError(
      400,
      'cursor: not a cursor this API returned; pass nextCursor from the previous page unchanged',
    );
  }
  if (o !== orderBy || d !== order) {
    throw new HttpError(
      400,
      `cursor: was made for orderBy=${o}&order=${d}; pass the same orderBy and order as for the first page`,
    );
  }
  return { windowStart: w, after: { value: v as number | null, groupKey: g } };
}
