import { describe, expect, it } from 'vitest';
import { HttpError } from '../../lambdas/adapters/http.ts';
import { checkEvents, MAX_BODY_BYTES, parseBody } from '../../lambdas/ingest/event-batch.ts';

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
