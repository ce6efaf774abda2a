/**
 * Event time: every event carries its own timestamp, as epoch milliseconds or an ISO-8601 string.
 * Windows are assigned by this time, never by arrival time.
 */

// ISO-8601 date-time with an explicit offset (or Z). A time without an offset would be read in the
// processor's local zone, which differs between a laptop and Lambda, so it is refused.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * The last instant with a four-digit year, 9999-12-31T23:59:59.999Z. Later times have no ISO-8601 form in
 * the results (and past 8.64e15 ms none at all: `Date` cannot hold them), so they are refused.
 */
export const MAX_EVENT_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether year-month-day is a day of the (proleptic Gregorian) calendar. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

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
    const iso = ISO_WITH_ZONE.exec(value);
    if (!iso) {
      return {
        ok: false,
        error: `event time '${field}' is ${JSON.stringify(value.slice(0, 64))}; use epoch milliseconds or ISO-8601 with a zone, e.g. "2026-11-24T10:00:00.000Z"`,
      };
    }
    // Date.parse rolls a day past the month's end over into the next month (2026-02-30 is March 2).
    time = isCalendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3])) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(time))
      return { ok: false, error: `event time '${field}' is ${JSON.stringify(value)}, not a real date` };
  } else {
    return {
      ok: false,
      error: `event time '${field}' is a ${typeof value}; use epoch milliseconds or an ISO-8601 string`,
    };
  }
  if (time < 0) return { ok: false, error: `event time '${field}' is before 1970-01-01` };
  if (time > MAX_EVENT_TIME) {
    return {
      ok: false,
      error: `event time '${field}' is ${String(value).slice(0, 64)}, after 9999-12-31T23:59:59.999Z`,
    };
  }
  return { ok: true, time };
}

/** Events more than this far ahead of the clock are refused: one would push the watermark past every window. */
export const MAX_FUTURE_MS = 3_600_000;
