import { describe, expect, it } from 'vitest';
import { parseEventTime } from '../../lambdas/core/event-time.ts';

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
