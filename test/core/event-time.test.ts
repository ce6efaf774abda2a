import { describe, expect, it } from 'vitest';
import { MAX_EVENT_TIME, parseEventTime } from '../../lambdas/core/event-time.ts';

describe('event time', () => {
  it('reads epoch milliseconds', () => {
    expect(parseEventTime(1_795_514_400_123, 'dateTime')).toEqual({ ok: true, time: 1_795_514_400_123 });
  });

  it('reads ISO-8601 with a zone', () => {
    expect(parseEventTime('2026-11-24T10:00:00.5+01:00', 'dateTime')).toEqual({
      ok: true,
      time: Date.UTC(2026, 10, 24, 9, 0, 0, 500),
    });
  });

  it('refuses a time without a zone, which would depend on where it is read', () => {
    expect(parseEventTime('2026-11-24T10:00:00', 'dateTime')).toMatchObject({
      ok: false,
      error: expect.stringContaining('with a zone'),
    });
  });

  it('names the missing field', () => {
    expect(parseEventTime(undefined, 'ts')).toEqual({ ok: false, error: "event time field 'ts' is missing" });
  });

  it('refuses a boolean', () => {
    expect(parseEventTime(true, 'dateTime')).toMatchObject({
      ok: false,
      error: expect.stringContaining('is a boolean'),
    });
  });
});

describe('event time range and calendar', () => {
  it('reads times up to the last millisecond of year 9999', () => {
    expect(parseEventTime(MAX_EVENT_TIME, 'dateTime')).toEqual({ ok: true, time: MAX_EVENT_TIME });
    expect(parseEventTime('9999-12-31T23:59:59.999Z', 'dateTime')).toEqual({ ok: true, time: MAX_EVENT_TIME });
  });

  it.each([
    [1e20, '100000000000000000000'],
    [1e308, '1e+308'],
    [8_640_000_000_000_001, '8640000000000001'],
    [MAX_EVENT_TIME + 1, String(MAX_EVENT_TIME + 1)],
    ['9999-12-31T23:59:59-14:00', '9999-12-31T23:59:59-14:00'],
  ])('refuses %s, after year 9999, naming the value', (value, shown) => {
    expect(parseEventTime(value, 'dateTime')).toEqual({
      ok: false,
      error: `event time 'dateTime' is ${shown}, after 9999-12-31T23:59:59.999Z`,
    });
  });

  it('refuses a time before 1970', () => {
    expect(parseEventTime(-1, 'dateTime')).toMatchObject({ ok: false, error: expect.stringContaining('before 1970') });
  });

  it.each(['2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2100-02-29T00:00:00Z'])(
    'refuses %s, which is not a calendar date (Date.parse would roll it over into the next month)',
    (value) => {
      expect(parseEventTime(value, 'dateTime')).toEqual({
        ok: false,
        error: `event time 'dateTime' is ${JSON.stringify(value)}, not a real date`,
      });
    },
  );

  it.each(['2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-01T23:60:00Z'])(
    'refuses %s, whose fields are out of range',
    (value) => {
      expect(parseEventTime(value, 'dateTime')).toMatchObject({
        ok: false,
        error: expect.stringContaining('not a real date'),
      });
    },
  );

  it('reads February 29 of a leap year', () => {
    expect(parseEventTime('2024-02-29T12:00:00Z', 'dateTime')).toEqual({ ok: true, time: Date.UTC(2024, 1, 29, 12) });
    expect(parseEventTime('2000-02-29T00:00:00+01:00', 'dateTime')).toEqual({
      ok: true,
      time: Date.UTC(2000, 1, 28, 23),
    });
  });
});
