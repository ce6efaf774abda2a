/**
 * Seeded fuzzing of the HTTP API against the whole local pipeline, over real HTTP: POST /events with random
 * bytes, deeply nested events, huge numbers, dates that are not dates, broken encodings, too many events and odd
 * headers; GET routes with random parameters and values. No input may get a 5xx; every 4xx names the problem;
 * afterwards /status accounts for every event the API answered for. Set EDDY_FUZZ_SEED to replay another run.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../lambdas/core/random.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline } from './support.ts';

const SEED = Number(process.env.EDDY_FUZZ_SEED ?? 20_261_124);
const POSTS = 1_200;
const GETS = 1_800;
/** Requests in flight at once: enough to overlap the handlers' I/O on two cores. */
const CONCURRENCY = 8;

let pipeline: LocalPipeline;
let api: Api;
let agent: http.Agent;

beforeAll(async () => {
  pipeline = await startPipeline();
  api = new Api(pipeline);
  agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
});
afterAll(async () => {
  agent?.destroy();
  await pipeline?.stop();
});

const random = mulberry32(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(values: readonly T[]): T => values[int(values.length)]!;
const chance = (p: number) => random() < p;
const NOW = Date.now();

interface FuzzRequest {
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: Buffer;
  /** What the error (or the rejection of `index`) must say, when the request is certain to be refused. */
  readonly expected?: { readonly status?: number; readonly index?: number; readonly error: RegExp };
  /** Query parameter names sent: a GET's 400 must name one of them (or a parameter the route requires). */
  readonly params?: readonly string[];
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

function send(request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${pipeline.url}${request.path}`,
      { method: request.method, headers: request.headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

// ---- events ------------------------------------------------------------------------------------------------

const nested = (depth: number, open: string, close: string, inner = '1') =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
const deepArray = (depth: number) => nested(depth, '[', ']');
const deepObject = (depth: number) => nested(depth, '{"a":', '}');

/** A string of random characters: ASCII mostly, with quotes, escapes, controls, accents, emoji, lone surrogates. */
function randomText(max: number): string {
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', 'é', '€', '😀', '\ud800', '%', '&', '='];
  let s = '';
  for (let i = int(max + 1); i > 0; i--) s += chance(0.7) ? String.fromCharCode(97 + int(26)) : pick(alphabet);
  return s;
}

function validTime(): number | string {
  const t = NOW - int(6 * 3_600_000) + (chance(0.1) ? int(50 * 60_000) : 0);
  if (chance(0.7)) return t;
  return chance(0.5) ? new Date(t).toISOString() : new Date(t).toISOString().replace('Z', '+00:00');
}

/** An event ingest must accept: odd where it may be (values, unicode, moderate nesting, extreme numbers). */
function goodEvent(): Record<string, unknown> {
  const event: Record<string, unknown> = {
    type: pick(['bid', 'bid', 'bid', 'person', 'auction', randomText(6)]),
    dateTime: validTime(),
  };
  if (chance(0.9))
    event.auction = chance(0.9) ? int(40) : pick([randomText(20), { a: [1, { b: 2 }] }, 'x'.repeat(600)]);
  if (chance(0.9)) event.bidder = chance(0.9) ? int(100) : pick([true, null, [1, 2], randomText(10)]);
  if (chance(0.9))
    event.price = chance(0.85)
      ? int(10_000) / 100
      : pick([1e308, -1e308, 5e-324, -0, 2 ** 53 + 1, 1.7976931348623157e308, '12', null]);
  if (chance(0.5)) event.channel = pick(['Google', 'Apple', randomText(12), 7]);
  if (chance(0.3)) event.state = pick(['OR', 'CA', randomText(5)]);
  if (chance(0.1)) event.meta = JSON.parse(deepArray(1 + int(30)));
  if (chance(0.1)) event[randomText(8)] = randomText(40);
  return event;
}

interface BadEvent {
  readonly text: string;
  readonly error: RegExp;
}

/** An event ingest must reject, as JSON text (deep values cannot be built with JSON.stringify), and why. */
function badEvent(): BadEvent {
  const rest = `"type":"bid","auction":${int(40)},"price":1`;
  const withTime = (time: string) => `{${rest},"dateTime":${time}}`;
  switch (int(7)) {
    case 0: {
      const depth = pick([33, 34, 64, 1_000, 10_000]);
      const field = chance(0.5) ? deepArray(depth - 1) : deepObject(depth - 1);
      const name = pick(['x', 'auction', 'bidder', 'price', 'dateTime']);
      // A duplicate key keeps the last: a deep `dateTime` replaces the good one, and depth is checked first.
      return { text: `{${rest},"dateTime":${NOW - 60_000},"${name}":${field}}`, error: /nested deeper than 32 levels/ };
    }
    case 1: {
      const time = pick(['1e20', '1e308', '8640000000000001', '253402300800000', '9e15', '1.7976931348623157e308']);
      return { text: withTime(time), error: /event time 'dateTime' is .*, after 9999-12-31T23:59:59\.999Z/ };
    }
    case 2: {
      const time = pick(['-1', '-1e308', '-8640000000000001', '"1969-12-31T23:59:59Z"', '"0000-01-01T00:00:00Z"']);
      return { text: withTime(time), error: /before 1970-01-01/ };
    }
    case 3: {
      const date = pick([
        '2026-02-30T00:00:00Z',
        '2026-02-29T10:00:00Z',
        '2025-04-31T10:00:00+02:00',
        '2026-13-01T00:00:00Z',
        '2026-00-10T00:00:00Z',
        '2026-01-32T00:00:00Z',
        '2026-01-01T25:00:00Z',
        '2026-01-01T23:60:00Z',
        '2026-01-01T10:00:00+99:00',
      ]);
      return { text: withTime(JSON.stringify(date)), error: /not a real date/ };
    }
    case 4: {
      const time = pick(['"2026-01-01T10:00:00"', '"yesterday"', '""', '"1e20"', 'true', '{}', '[]', '"\\ud800"']);
      return { text: withTime(time), error: /event time 'dateTime' is/ };
    }
    case 5:
      return { text: withTime(String(NOW + 2 * 3_600_000)), error: /more than 1 hour in the future/ };
    default: {
      const item = pick(['"a string"', '42', 'null', '[]', '[1,2]', 'true', deepArray(10_000)]);
      return { text: item, error: /not a JSON object/ };
    }
  }
}

// ---- POST /events ------------------------------------------------------------------------------------------

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  ' application/json ;x=y',
];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '*/*',
  'application/',
  ';',
  'application/json+x',
  '\u00e9/\u00e9',
];

function post(
  kind: string,
  body: Buffer | string,
  headers: Record<string, string | string[]> = {},
  expected?: FuzzRequest['expected'],
): FuzzRequest {
  return {
    kind,
    method: 'POST',
    path: '/events',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? Buffer.from(body) : body,
    ...(expected ? { expected } : {}),
  };
}

/** Replaces, inserts or deletes random bytes, some of which are not UTF-8. */
function mutate(text: string): Buffer {
  const bytes = [...Buffer.from(text)];
  for (let n = 1 + int(4); n > 0; n--) {
    const at = int(bytes.length + 1);
    const byte = chance(0.5) ? pick([0x22, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x5c, 0x30, 0x65]) : int(256);
    const op = int(3);
    if (op === 0) bytes.splice(at, 0, byte);
    else if (op === 1) bytes.splice(at, 1);
    else bytes[at] = byte;
  }
  return Buffer.from(bytes.slice(0, chance(0.2) ? int(bytes.length + 1) : bytes.length));
}

const INVALID_UTF8 = [
  [0xff],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
];

function postRequest(): FuzzRequest {
  const roll = random() * 100;
  if (roll < 25) {
    // Good and bad events mixed: each bad one is rejected by its index with its reason.
    const n = 1 + int(chance(0.03) ? 500 : 20);
    const parts: string[] = [];
    let expected: FuzzRequest['expected'];
    for (let i = 0; i < n; i++) {
      if (chance(0.3)) {
        const bad = badEvent();
        parts.push(bad.text);
        expected ??= { index: i, error: bad.error };
      } else parts.push(JSON.stringify(goodEvent()));
    }
    if (chance(0.3)) return post('mixed ndjson', parts.join('\n'), { 'content-type': pick(NDJSON_TYPES) }, expected);
    return post('mixed', `[${parts.join(',')}]`, { 'content-type': pick(JSON_TYPES) }, expected);
  }
  if (roll < 35) {
    const depth = pick([33, 100, 10_000, 100_000]);
    if (chance(0.5)) {
      return post(
        'deep event',
        `{"type":"bid","dateTime":${NOW - 1000},"x":${deepArray(depth)}}`,
        {},
        {
          index: 0,
          error: /nested deeper than 32 levels/,
        },
      );
    }
    return post('deep body', chance(0.5) ? deepArray(depth) : deepObject(depth), {
      'content-type': pick([...JSON_TYPES, ...NDJSON_TYPES]),
    });
  }
  if (roll < 35.3) {
    // One event nested 10,000 deep among 500: the other 499 are ingested.
    const at = int(500);
    const events = Array.from({ length: 500 }, (_, i) =>
      i === at ? `{"type":"bid","dateTime":${NOW - 1000},"x":${deepArray(10_000)}}` : JSON.stringify(goodEvent()),
    );
    return post(
      'deep among 500',
      `[${events.join(',')}]`,
      {},
      { status: 207, index: at, error: /nested deeper than 32/ },
    );
  }
  if (roll < 47) {
    const length = int(chance(0.9) ? 300 : 5000);
    const bytes = Buffer.from(Array.from({ length }, () => int(256)));
    return post('random bytes', bytes, { 'content-type': pick([...JSON_TYPES, ...NDJSON_TYPES, ...OTHER_TYPES]) });
  }
  if (roll < 60) {
    const text = JSON.stringify(Array.from({ length: 1 + int(5) }, goodEvent));
    return post('mutated', mutate(text), { 'content-type': pick([...JSON_TYPES, ...NDJSON_TYPES]) });
  }
  if (roll < 72) {
    const good = JSON.stringify([goodEvent(), goodEvent()]);
    switch (int(6)) {
      case 0:
        return post('bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good)]));
      case 1: {
        const bad = Buffer.from(pick(INVALID_UTF8));
        const at = good.indexOf('"type":"') + 8;
        const body = Buffer.concat([Buffer.from(good.slice(0, at)), bad, Buffer.from(good.slice(at))]);
        return post(
          'invalid utf-8',
          body,
          { 'content-type': pick([...JSON_TYPES, ...NDJSON_TYPES]) },
          {
            status: 400,
            error: /not valid UTF-8/,
          },
        );
      }
      case 2:
        return post('utf-16', Buffer.from(`\ufeff${good}`, 'utf16le'));
      case 3:
        return post(
          'latin-1',
          Buffer.from(JSON.stringify([{ ...goodEvent(), name: 'Zoë Ærø' }]), 'latin1'),
          {},
          {
            status: 400,
            error: /not valid UTF-8/,
          },
        );
      case 4:
        // U+FFFD written as an escape is an ordinary character.
        return post('escaped U+FFFD', JSON.stringify([{ ...goodEvent(), note: 'x' }]).replace('"x"', '"\\ufffd"'));
      default:
        return post('bom ndjson', `\ufeff${JSON.stringify(goodEvent())}\n${JSON.stringify(goodEvent())}`, {
          'content-type': pick(NDJSON_TYPES),
        });
    }
  }
  if (roll < 80) {
    switch (int(9)) {
      case 0:
        return post(
          '501 events',
          JSON.stringify(Array.from({ length: 501 }, goodEvent)),
          {},
          {
            status: 400,
            error: /body has 501 events; at most 500/,
          },
        );
      case 1:
        return post(
          '501 lines',
          Array.from({ length: 501 }, () => JSON.stringify(goodEvent())).join('\n'),
          { 'content-type': pick(NDJSON_TYPES) },
          { status: 400, error: /at most 500/ },
        );
      case 2:
        return post('empty array', '[]', {}, { status: 400, error: /empty array/ });
      case 3:
        return post(
          'blank lines',
          '\n \n\t\n',
          { 'content-type': pick(NDJSON_TYPES) },
          { status: 400, error: /no events/ },
        );
      case 4:
        return post('scalar body', pick(['null', '"str"', '123', 'true', '{}', '[null]', '[[]]']));
      case 5:
        return post('empty body', '', { 'content-type': pick([...JSON_TYPES, ...NDJSON_TYPES]) });
      case 6:
        return post('trailing garbage', `${JSON.stringify(goodEvent())}x`);
      case 7:
        return post('huge number', `[{"type":"bid","dateTime":${NOW - 1000},"price":1${'0'.repeat(400)}}]`);
      default:
        return post(
          'random json',
          `[${Array.from({ length: 1 + int(10) }, () => JSON.stringify(randomText(30))).join(',')}]`,
        );
    }
  }
  if (roll < 98) {
    // Odd headers and content types on otherwise good bodies.
    const body = JSON.stringify(Array.from({ length: 1 + int(3) }, goodEvent));
    const headers: Record<string, string | string[]> = {};
    const type = pick([...OTHER_TYPES, ...JSON_TYPES, 'application/x-ndjson', '', 'application/json, text/plain']);
    if (type !== '' || chance(0.5)) headers['content-type'] = type;
    if (chance(0.4)) {
      headers['idempotency-key'] = pick([
        '',
        ' ',
        'a b',
        'x'.repeat(129),
        'caf\u00e9',
        `fuzz-${int(1_000_000_000)}`,
        `fuzz-${int(1_000_000_000)}`,
        '!~',
      ]);
    }
    if (chance(0.2)) headers['content-encoding'] = pick(['gzip', 'br', 'identity', 'x']);
    if (chance(0.2)) headers['x-api-key'] = randomText(10).replace(/[^\x21-\x7e]/g, 'k');
    if (chance(0.1)) headers.accept = pick(['text/html', '*/*', '']);
    if (chance(0.1)) headers['content-type'] = ['application/json', 'text/plain'];
    return { ...post('headers', body), headers };
  }
  if (chance(0.5)) {
    return post(
      'body over 5 MiB',
      Buffer.alloc(5 * 1024 * 1024 + 1 + int(1000), 0x20),
      {},
      {
        status: 413,
        error: /larger than 5242880 bytes/,
      },
    );
  }
  return post(
    'event over 1 MiB',
    `[{"type":"bid","dateTime":${NOW - 1000},"pad":"${'x'.repeat(1_100_000)}"}]`,
    {},
    {
      status: 400,
      index: 0,
      error: /larger than 1048576 bytes/,
    },
  );
}

// ---- GET routes ---------------------------------------------------------------------------------------------

const VIEWS = [
  'bids_per_auction',
  'new_people_by_state',
  'hot_auctions',
  'highest_bid',
  'bid_stats_by_channel',
  'bidder_sessions',
];
const PARAMS = ['limit', 'cursor', 'view', 'from', 'to', 'auction', 'state', 'channel', 'bidder'];

/** A query-string component: percent-encoded text, or raw bytes that are not valid percent-encoding or UTF-8. */
function component(value: string): string {
  if (chance(0.05)) return pick(['%', '%Z', '%ZZ', '%E0%A4', '%FF', '%C0%AF', '%ED%A0%80', '+', '%00']);
  // Buffer round trip: a lone surrogate becomes U+FFFD, which encodeURIComponent can encode.
  return encodeURIComponent(Buffer.from(value).toString()).replace(/%20/g, chance(0.5) ? '+' : '%20');
}

function cursorValue(): string {
  switch (int(5)) {
    case 0:
      return Buffer.from(JSON.stringify({ s: pick([0, -1, 1e21, 1e300, 1.5, '1', null, NOW]) })).toString('base64url');
    case 1:
      // Valid base64url of text that is long in bytes but not in characters.
      return Buffer.from('€'.repeat(1 + int(1000))).toString('base64url');
    case 2:
      return Buffer.from(randomText(1 + int(80))).toString('base64url');
    case 3:
      return Buffer.from(String(NOW - int(1e9)).padStart(13, '0')).toString('base64url');
    default:
      return randomText(20);
  }
}

function paramValue(name: string): string {
  if (chance(0.3)) return randomText(chance(0.9) ? 20 : 800);
  switch (name) {
    case 'limit':
      return pick(['0', '1', '1000', '1001', '-1', '1e3', '1.5', 'NaN', 'Infinity', '', ' 5', '0x10', '9'.repeat(400)]);
    case 'cursor':
      return cursorValue();
    case 'view':
      return chance(0.7) ? pick(VIEWS) : pick(['nope', '', 'BIDS_PER_AUCTION', '../status']);
    case 'from':
    case 'to':
      return pick([
        String(NOW),
        '0',
        '1e20',
        '100000000000000000000',
        '8640000000000001',
        '253402300799999',
        '253402300800000',
        '9'.repeat(400),
        '-1',
        '2026-02-30T00:00:00Z',
        '2026-11-24T10:00:00Z',
        '9999-12-31T23:59:59-14:00',
        'yesterday',
        '',
      ]);
    default:
      return pick([String(int(40)), '', 'x'.repeat(600), '€'.repeat(300), 'null', '{"a":[1]}', '\u0000']);
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function getRequest(): FuzzRequest {
  const route = pick(['results', 'results', 'results', 'late', 'dead-letters', 'emitted', 'status', 'views', 'health']);
  let path: string;
  let view: string | undefined;
  if (route === 'results') {
    // A path segment as sent: a view name, random text, or percent-encoding that decodes to odd things or not at all.
    const segment = chance(0.85)
      ? pick(VIEWS)
      : chance(0.5)
        ? component(pick(['nope', randomText(10), '..', 'BIDS_PER_AUCTION']))
        : pick(['%2F', 'bids_per_auction%00', '%ZZ', '%E0%A4', '%C0%AF']);
    view = safeDecode(segment);
    path = `/views/${segment}/results`;
  } else path = `/${route}`;
  const names = Array.from({ length: int(5) }, () => (chance(0.8) ? pick(PARAMS) : randomText(8)));
  const query = names.map((name) => `${component(name)}=${component(paramValue(name))}`).join('&');
  // As the API reads them: percent-decoded, with U+FFFD for what is not UTF-8.
  const params = [...new URLSearchParams(query).keys(), ...(view !== undefined ? [view] : [])];
  return { kind: `GET ${route}`, method: 'GET', path: query ? `${path}?${query}` : path, headers: {}, params };
}

// ---- the run ------------------------------------------------------------------------------------------------

interface Totals {
  accepted: number;
  rejected: number;
  /** Requests ingest refused as a whole (400, 413, 415; not 409, not API Gateway's own answers). */
  requestsRejected: number;
}

/** Checks one answer; returns a failure description, or undefined. Adds the events the API answered for to `totals`. */
function judge(request: FuzzRequest, answer: Answer, totals: Totals): string | undefined {
  const what = `${request.kind} ${request.method} ${request.path.slice(0, 120)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  if (answer.status >= 500) return `5xx: ${what}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    return `answer is not JSON: ${what}`;
  }
  const rejected = Array.isArray(body.rejected) ? (body.rejected as Array<{ index: unknown; error: unknown }>) : [];
  if (
    request.method === 'POST' &&
    typeof body.accepted === 'number' &&
    answer.headers['idempotent-replay'] !== 'true'
  ) {
    totals.accepted += body.accepted;
    totals.rejected += rejected.length;
  }
  if (request.method === 'POST' && answer.status >= 400 && answer.status !== 409) {
    if (typeof body.error === 'string' && body.accepted === undefined) totals.requestsRejected++;
  }
  if (rejected.some((r) => typeof r.index !== 'number' || typeof r.error !== 'string' || r.error === '')) {
    return `a rejection without index or error: ${what}`;
  }
  if (answer.status >= 400) {
    const error = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : '';
    if (error === '') return `4xx without error or message: ${what}`;
    if (request.params && answer.status === 400) {
      const named = [...request.params, 'view', 'cursor', 'limit', 'from', 'to'].some(
        (p) =>
          error.includes(`'${p}'`) ||
          error.startsWith(`${p}:`) ||
          error.includes(` ${p}:`) ||
          error.startsWith(`${p},`),
      );
      if (!named) return `400 that names no parameter: ${what}`;
    }
  }
  const expected = request.expected;
  if (expected) {
    if (expected.status !== undefined && answer.status !== expected.status)
      return `expected ${expected.status}: ${what}`;
    const texts =
      expected.index !== undefined
        ? rejected.filter((r) => r.index === expected.index).map((r) => String(r.error))
        : [String(body.error ?? body.message ?? '')];
    if (!texts.some((t) => expected.error.test(t))) return `expected ${expected.error}: ${what}`;
  }
  return undefined;
}

async function run(requests: readonly FuzzRequest[], totals: Totals): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const failure = judge(request, await send(request), totals);
      if (failure) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failures;
}

describe(`fuzzing the HTTP API (seed ${SEED})`, () => {
  const totals: Totals = { accepted: 0, rejected: 0, requestsRejected: 0 };

  it(`answers ${POSTS} fuzzed POST /events without a 5xx, naming every problem`, { timeout: 180_000 }, async () => {
    const requests = Array.from({ length: POSTS }, postRequest);
    const failures = await run(requests, totals);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(totals.accepted).toBeGreaterThan(1_000);
    expect(totals.rejected).toBeGreaterThan(100);
  });

  it(`answers ${GETS} GETs with fuzzed query strings without a 5xx, naming the parameter`, {
    timeout: 120_000,
  }, async () => {
    const requests = Array.from({ length: GETS }, getRequest);
    const failures = await run(requests, totals);
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('refuses a from or to past year 9999 with a 400 naming it, as event times are', async () => {
    const res = await api.get('/views/bids_per_auction/results?auction=1&to=100000000000000000000');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'to: 100000000000000000000 ms is after 9999-12-31T23:59:59.999Z; leave to out for no bound',
    );
  });

  it('accounts for every event afterwards: /status conserves', { timeout: 60_000 }, async () => {
    await api.drained();
    const { body } = await api.get('/status');
    expect(body.events).toMatchObject({
      accepted: totals.accepted,
      rejected: totals.rejected,
      processed: totals.accepted - body.events.deadLettered,
      inFlight: 0,
      duplicates: 0,
    });
    expect(body.requestsRejected).toBe(totals.requestsRejected);
    expect(pipeline.onFailure.records).toEqual([]);
  });
});
