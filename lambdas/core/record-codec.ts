/**
 * How events travel in Kinesis records.
 *
 * Ingest packs many events into one record as gzip-compressed NDJSON: fewer records (Kinesis bills and
 * throttles per record and per byte) and fewer bytes. The aggregator also reads what other producers write:
 * a plain JSON object, a JSON array of objects, NDJSON, or records aggregated by the KPL (see kpl.ts).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { deaggregate, isKplAggregated } from './kpl.ts';

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
/** Uncompressed bytes per packed record. Well under Kinesis' 1 MiB record limit even if the data won't compress. */
export const MAX_PACKED_BYTES = 512 * 1024;
/** Refuse to inflate a record beyond this: a small record that inflates to gigabytes must not crash the processor. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** One item found in a record: a parsed value, or why it could not be parsed. `index` is its position. */
export type DecodedItem =
  | { readonly index: number; readonly value: unknown }
  | { readonly index: number; readonly error: string };

export interface DecodedRecord {
  readonly items: DecodedItem[];
  /** The record's origin, for a record ingest packed for a request with an Idempotency-Key. */
  readonly origin?: string;
  /** Set when the record as a whole could not be read (e.g. corrupt gzip). */
  readonly error?: string;
}

export interface PackedRecord {
  readonly data: Buffer;
  /** Indexes, in the caller's list, of the events this record carries. */
  readonly indexes: number[];
}

/**
 * The first line of a record ingest packs for a request with an Idempotency-Key: `{"$eddy":{"origin":…}}`, the
 * key and the record's part number. A retry of the request packs the same events into the same parts, so the
 * aggregator can tell a repeated record from a new one (ShardProcessor.dropRepeatedRecords).
 */
const ORIGIN_HEADER_PREFIX = '{"$eddy":';

/** A record's origin: its part number and the request's Idempotency-Key. */
export function recordOrigin(idempotencyKey: string, part: number): string {
  return `${part}|${idempotencyKey}`;
}

/**
 * Packs serialized events (one JSON text each) into gzip NDJSON records of at most MAX_PACKED_BYTES before
 * compression. With `idempotencyKey`, each record starts with its origin header.
 */
export function packEvents(
  serialized: ReadonlyArray<{ readonly index: number; readonly json: string }>,
  idempotencyKey?: string,
): PackedRecord[] {
  const records: PackedRecord[] = [];
  let lines: string[] = [];
  let indexes: number[] = [];
  let bytes = 0;
  const flush = () => {
    if (lines.length === 0) return;
    if (idempotencyKey !== undefined) {
      lines.unshift(
        `${ORIGIN_HEADER_PREFIX}${JSON.stringify({ origin: recordOrigin(idempotencyKey, records.length) })}}`,
      );
    }
    records.push({ data: gzipSync(`${lines.join('\n')}\n`, { level: 6 }), indexes });
    lines = [];
    indexes = [];
    bytes = 0;
  };
  for (const { index, json } of serialized) {
    const size = Buffer.byteLength(json) + 1;
    if (bytes + size > MAX_PACKED_BYTES) flush();
    lines.push(json);
    indexes.push(index);
    bytes += size;
  }
  flush();
  return records;
}

/**
 * NDJSON: one JSON value per non-blank line, numbered from 0 by non-blank line; a line that is not JSON is an
 * item with the reason. Read the same way in requests (ingest) and in records (the aggregator).
 */
export function parseNdjson(text: string): DecodedItem[] {
  const items: DecodedItem[] = [];
  let index = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    try {
      items.push({ index, value: JSON.parse(trimmed) });
    } catch (err) {
      items.push({ index, error: `line ${index + 1} is not JSON: ${(err as Error).message}` });
    }
    index++;
  }
  return items;
}

/** Reads the events of one record, whatever producer wrote it. Never throws. */
export function decodeRecord(data: Uint8Array): DecodedRecord {
  if (isKplAggregated(data)) {
    let userRecords: Uint8Array[];
    try {
      userRecords = deaggregate(data);
    } catch (err) {
      return { items: [], error: `record is KPL-aggregated but cannot be read: ${(err as Error).message}` };
    }
    // Each KPL user record is one event; its position in the aggregate is its index.
    return {
      items: userRecords.map((payload, index) => {
        try {
          return { index, value: JSON.parse(Buffer.from(payload).toString('utf8')) as unknown };
        } catch (err) {
          return { index, error: `KPL user record ${index} is not JSON: ${(err as Error).message}` };
        }
      }),
    };
  }
  let text: string;
  if (data.length >= 2 && data[0] === GZIP_MAGIC_0 && data[1] === GZIP_MAGIC_1) {
    try {
      text = gunzipSync(data, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
    } catch (err) {
      return { items: [], error: `record is gzip but cannot be inflated: ${(err as Error).message}` };
    }
  } else {
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  }
  const start = text.trimStart();
  if (start.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(text);
      if (Array.isArray(value)) return { items: value.map((v, index) => ({ index, value: v })) };
    } catch {
      // Not one JSON array: fall through to NDJSON, which reports the line that is wrong.
    }
  }
  if (start === '') return { items: [], error: 'record is empty' };
  if (start.startsWith(ORIGIN_HEADER_PREFIX)) {
    const newline = start.indexOf('\n');
    const origin = originOf(newline === -1 ? start : start.slice(0, newline));
    if (origin !== undefined) return { items: parseNdjson(newline === -1 ? '' : start.slice(newline + 1)), origin };
  }
  return { items: parseNdjson(text) };
}

/** The origin in a header line, or undefined when the line is not a well-formed header (then it is an event). */
function originOf(line: string): string | undefined {
  try {
    const header = JSON.parse(line) as { $eddy?: { origin?: unknown } };
    const origin = header.$eddy?.origin;
    return typeof origin === 'string' && origin.length > 0 ? origin : undefined;
  } catch {
    return undefined;
  }
}
