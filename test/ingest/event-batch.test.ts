import { describe, expect, it } from 'vitest';
import { HttpError } from '../../lambdas/adapters/http.ts';
import { MAX_NESTING_DEPTH } from '../../lambdas/core/nesting.ts';
import { checkEvents, decodeBody, MAX_BODY_BYTES, parseBody } from '../../lambdas/ingest/event-batch.ts';

const NOW = Date.UTC(2026, 10, 24, 10, 0, 0);
const bid = (over: Record<string, unknown> = {}) => ({
  type: 'bid',
  auction: 1,
  price: 5,
  dateTime: NOW - 1000,
  ...over,
});

function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err.statusCode;
    throw err;
  }
  return 0;
}

describe('POST /events body', () => {
  it('takes one object, an array, or NDJSON', () => {
    expect(parseBody(JSON.stringify(bid()), 'application/json')).toHaveLength(1);
    expect(parseBody(JSON.stringify([bid(), bid()]), 'application/json; charset=utf-8')).toHaveLength(2);
    expect(parseBody(`${JSON.stringify(bid())}\n\n${JSON.stringify(bid())}\n`, 'application/x-ndjson')).toHaveLength(2);
  });

  it('is 400 when malformed, 413 when too large, 415 for other content types', () => {
    expect(statusOf(() => parseBody('{"a":', 'application/json'))).toBe(400);
    expect(statusOf(() => parseBody('x'.repeat(MAX_BODY_BYTES + 1), 'application/json'))).toBe(413);
    expect(statusOf(() => parseBody('a=b', 'application/x-www-form-urlencoded'))).toBe(415);
  });

  it('is 400 with more than 500 events', () => {
    const items = parseBody(JSON.stringify(Array.from({ length: 501 }, () => bid())), 'application/json');
    expect(statusOf(() => checkEvents(items, 'dateTime', NOW))).toBe(400);
  });

  it('rejects each bad event by index with the reason, and keeps the good ones', () => {
    const body = JSON.stringify([
      bid(),
      'a string',
      bid({ dateTime: undefined }),
      bid({ dateTime: 'yesterday' }),
      bid({ dateTime: NOW + 2 * 3_600_000 }),
      bid(),
    ]);
    const checked = checkEvents(parseBody(body, 'application/json'), 'dateTime', NOW);
    expect(checked.valid.map((v) => v.index)).toEqual([0, 5]);
    expect(checked.rejected).toEqual([
      { index: 1, error: 'event is a string, not a JSON object' },
      { index: 2, error: "event time field 'dateTime' is missing" },
      { index: 3, error: expect.stringContaining('event time \'dateTime\' is "yesterday"') },
      { index: 4, error: expect.stringContaining('more than 1 hour in the future') },
    ]);
  });

  it('names a bad NDJSON line by its index', () => {
    const checked = checkEvents(
      parseBody(`${JSON.stringify(bid())}\n{oops\n`, 'application/x-ndjson'),
      'dateTime',
      NOW,
    );
    expect(checked.rejected).toEqual([{ index: 1, error: expect.stringMatching(/^line 2 is not JSON/) }]);
  });
});

describe('POST /events: events no check may fail on', () => {
  const deep = (depth: number) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown;

  it('rejects one event nested 10,000 levels deep by its index and keeps the other 499', () => {
    const events: unknown[] = Array.from({ length: 500 }, () => bid());
    events[3] = bid({ x: deep(10_000) });
    const body = `[${events.map((e, i) => (i === 3 ? `{"type":"bid","dateTime":${NOW},"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}` : JSON.stringify(e))).join(',')}]`;
    const checked = checkEvents(parseBody(body, 'application/json'), 'dateTime', NOW);
    expect(checked.valid).toHaveLength(499);
    expect(checked.rejected).toEqual([
      {
        index: 3,
        error: `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`,
      },
    ]);
  });

  it('accepts an event nested exactly to the limit', () => {
    const event = bid({ x: deep(MAX_NESTING_DEPTH - 1) });
    expect(checkEvents([{ index: 0, value: event }], 'dateTime', NOW).valid).toHaveLength(1);
  });

  it.each([1e20, 1e308, 8_640_000_000_000_001])('rejects event time %s, after year 9999, by index', (time) => {
    const checked = checkEvents(parseBody(`{"type":"bid","dateTime":${time}}`, 'application/json'), 'dateTime', NOW);
    expect(checked.rejected).toEqual([{ index: 0, error: expect.stringContaining('after 9999-12-31T23:59:59.999Z') }]);
  });

  it('rejects a date that is not in the calendar', () => {
    const checked = checkEvents([{ index: 0, value: bid({ dateTime: '2026-02-30T00:00:00Z' }) }], 'dateTime', NOW);
    expect(checked.rejected).toEqual([
      { index: 0, error: 'event time \'dateTime\' is "2026-02-30T00:00:00Z", not a real date' },
    ]);
  });
});

describe('POST /events body encoding', () => {
  it('strips a UTF-8 byte order mark', () => {
    const body = `\ufeff${JSON.stringify(bid())}`;
    expect(decodeBody(body, false)).toBe(JSON.stringify(bid()));
    expect(decodeBody(Buffer.from(body).toString('base64'), true)).toBe(JSON.stringify(bid()));
  });

  it('is 400 for a base64 body that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"type":"b'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(() => decodeBody(bytes.toString('base64'), true)).toThrow('body is not valid UTF-8');
    expect(statusOf(() => decodeBody(bytes.toString('base64'), true))).toBe(400);
  });

  it('is 400 for a text body holding U+FFFD, what API Gateway puts in place of bytes that are not UTF-8', () => {
    const replaced = Buffer.from([0x7b, 0xff, 0x7d]).toString('utf8');
    expect(statusOf(() => decodeBody(replaced, false))).toBe(400);
    expect(() => decodeBody(replaced, false)).toThrow(/not valid UTF-8 \(U\+FFFD.* at character 1\)/);
  });

  it('accepts U+FFFD written as a JSON escape, and other non-ASCII text', () => {
    const body = JSON.stringify(bid({ note: 'caf\u00e9 \u{1f600}' })).replace('café', 'caf\\ufffd');
    expect(decodeBody(body, false)).toBe(body);
  });
});
