/**
 * Reading a POST /events body into events, and checking each event. Pure: no AWS.
 *
 * Body: one JSON object, a JSON array of up to 500 objects, or NDJSON (`application/x-ndjson`).
 * A body that cannot be read at all is a 400; an event that is wrong is rejected by its index and the others
 * are still ingested.
 */

import { HttpError } from '../adapters/http.ts';
import { MAX_FUTURE_MS, parseEventTime } from '../core/event-time.ts';
import { boundedJson, isTooDeep, MAX_NESTING_DEPTH } from '../core/nesting.ts';
import { parseNdjson } from '../core/record-codec.ts';

export const MAX_EVENTS_PER_REQUEST = 500;
/** Larger bodies get 413. Below API Gateway's 10 MB and Lambda's 6 MB request payload limits. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Kinesis records are at most 1 MiB; one event must fit in one record. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export interface Rejection {
  readonly index: number;
  readonly error: string;
}

export interface CheckedEvents {
  /** Accepted events as JSON text, with their index in the request. */
  readonly valid: Array<{ readonly index: number; readonly json: string }>;
  readonly rejected: Rejection[];
  readonly total: number;
}

type ParsedBody = Array<{ readonly index: number; readonly value?: unknown; readonly error?: string }>;

const UTF8_BOM = '\ufeff';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text: UTF-8, without a leading byte order mark (some Windows tools write one). A body that is not
 * UTF-8 is a 400 rather than text with replaced characters. API Gateway hands the function a body that is not of
 * a binary media type as a string, with U+FFFD in place of each byte sequence that is not UTF-8; that character
 * is therefore refused too (an event that means it writes the JSON escape `\ufffd`).
 */
export function decodeBody(body: string | null, isBase64Encoded: boolean): string {
  let text = body ?? '';
  if (isBase64Encoded) {
    try {
      text = strictUtf8.decode(Buffer.from(text, 'base64'));
    } catch {
      throw new HttpError(400, 'body is not valid UTF-8; send JSON as UTF-8 text');
    }
  }
  const replaced = text.indexOf('\ufffd');
  if (replaced >= 0) {
    throw new HttpError(
      400,
      `body is not valid UTF-8 (U+FFFD, the replacement for bytes that are not UTF-8, at character ${replaced}); send JSON as UTF-8 text, and write U+FFFD itself as \\ufffd`,
    );
  }
  return text.startsWith(UTF8_BOM) ? text.slice(1) : text;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

/** Splits the body into items by content type; throws HttpError for a body that cannot be read at all. */
export function parseBody(body: string, contentType: string | undefined): ParsedBody {
  const type = mediaType(contentType);
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new HttpError(413, `body is larger than ${MAX_BODY_BYTES} bytes; send fewer events per request`);
  }
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/ndjson') {
    const items: ParsedBody = parseNdjson(body);
    if (items.length === 0) throw new HttpError(400, 'body has no events: send one JSON object per line');
    return items;
  }
  if (type !== 'application/json') {
    throw new HttpError(
      415,
      `content type '${type}' is not accepted; use application/json (an object or an array) or application/x-ndjson`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new HttpError(400, 'body is an empty array: send at least one event');
    return value.map((v, index) => ({ index, value: v }));
  }
  return [{ index: 0, value }];
}

/** Checks each event; `nowMs` bounds how far in the future an event time may be. */
export function checkEvents(items: ParsedBody, eventTimeField: string, nowMs: number): CheckedEvents {
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    throw new HttpError(400, `body has ${items.length} events; at most ${MAX_EVENTS_PER_REQUEST} per request`);
  }
  const valid: CheckedEvents['valid'] = [];
  const rejected: Rejection[] = [];
  for (const item of items) {
    let error: string | undefined;
    let json = '';
    try {
      error = item.error ?? checkEvent(item.value, eventTimeField, nowMs);
      if (error === undefined) {
        json = boundedJson(item.value, 'event');
        if (Buffer.byteLength(json) > MAX_EVENT_BYTES) error = `event is larger than ${MAX_EVENT_BYTES} bytes`;
      }
    } catch (err) {
      // Whatever one event does, it fails alone: the others of the request are still ingested.
      error = `event cannot be checked: ${(err as Error).message}`;
    }
    if (error === undefined) valid.push({ index: item.index, json });
    else rejected.push({ index: item.index, error });
  }
  return { valid, rejected, total: items.length };
}

function checkEvent(value: unknown, eventTimeField: string, nowMs: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `event is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object`;
  }
  if (isTooDeep(value)) return `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`;
  const time = parseEventTime((value as Record<string, unknown>)[eventTimeField], eventTimeField);
  if (!time.ok) return time.error;
  if (time.time > nowMs + MAX_FUTURE_MS) {
    return `event time '${eventTimeField}' ${new Date(time.time).toISOString()} is more than 1 hour in the future`;
  }
  return undefined;
}
