/**
 * Event time: every event carries its own timestamp, as epoch milliseconds or an ISO-8601 string.
 * Windows are assigned by this time, never by arrival time.
 */

// ISO-8601 date-time with an explicit offset (or Z). A time without an offset would be read in the
// processor's local zone, which differs between a laptop and Lambda, so it is refused.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export type EventTimeResult =
  | { readonly ok: true; readonly time: number }
  | { readonly ok: false; readonly error: string };

/** Reads the event time from `value`; `field` only names it in the error. */
export function parseEventTime(value: unknown, field: string): EventTimeResult {
  if (value === undefined || value === null) {
    return { ok: false, error: `event time field '${field}' is missing` };
  }
  let time: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, error: `event time '${field}' is ${value}, not a finite number` };
    time = Math.floor(value);
  } else if (typeof value === 'string') {
    if (!ISO_WITH_ZONE.test(value)) {
      return {
        ok: false,
        error: `event time '${field}' is ${JSON.stringify(value.slice(0, 64))}; use epoch milliseconds or ISO-8601 with a zone, e.g. "2026-11-24T10:00:00.000Z"`,
      };
    }
    time = Date.parse(value);
    if (Number.isNaN(time))
      return { ok: false, error: `event time '${field}' is ${JSON.stringify(value)}, not a real date` };
  } else {
    return {
      ok: false,
      error: `event time '${field}' is a ${typeof value}; use epoch milliseconds or an ISO-8601 string`,
    };
  }
  if (time < 0) return { ok: false, error: `event time '${field}' is before 1970-01-01` };
  return { ok: true, time };
}

/** Events more than this far ahead of the clock are refused: one would push the watermark past every window. */
export const MAX_FUTURE_MS = 3_600_000;
