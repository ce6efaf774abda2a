/** Times in the read API: read from query parameters as event times are, answered as ISO-8601 in UTC. */
import { HttpError } from '../adapters/http.ts';
import { MAX_EVENT_TIME, parseEventTime } from '../core/event-time.ts';

/** Epoch milliseconds, or ISO-8601 with a zone; `fallback` when the parameter is absent or empty. */
export function parseTime(value: string | undefined, name: string, fallback: number): number {
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

export const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
