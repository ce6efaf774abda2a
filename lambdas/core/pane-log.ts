/**
 * The pane log: how pane partials and final results are packed into few, large items (docs/storage.md).
 *
 * - A batch writes, per (view, pane, bucket), one delta item holding the partial of every group of that bucket
 *   it touched, whatever the number of groups: what a batch costs grows with the bytes it adds, not with the
 *   number of keys. A group lives in bucket hash(group) mod DELTA_BUCKETS, so reading one group reads a
 *   quarter of a pane's deltas, not all of them.
 * - Once a window is final the emitter compacts it: every group's result, sorted by group hash and cut into
 *   result chunks of a few KB, each covering a range of hashes. Reading one group of a compacted window reads
 *   one chunk; publishing a window writes a few chunks, not one item per group.
 *
 * Both are deflated JSON: pane partials are repetitive (field names, similar numbers), and DynamoDB bills
 * every started KB written.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { PanePartial, ViewMeasures } from './pane.ts';

/** Buckets a view's deltas are spread over (per pane and batch). */
export const DELTA_BUCKETS = 4;
/** Uncompressed JSON per delta item part or result chunk, at most: far under DynamoDB's 400 KB item limit. */
export const MAX_DELTA_PART_JSON = 256_000;
/** Uncompressed JSON per result chunk, about: one group's read of a compacted window reads one chunk. */
export const RESULT_CHUNK_JSON = 24_000;
/** The end of the hash space (exclusive). */
export const HASH_END = 2 ** 32;

/** 32-bit FNV-1a of a group key: where the group is stored. */
export function groupHash(groupKey: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < groupKey.length; i++) {
    h ^= groupKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function bucketOf(groupKey: string): number {
  return groupHash(groupKey) % DELTA_BUCKETS;
}

/** A hash as it is written in sort keys: 8 hex digits, so keys sort as the hashes do. */
export function hashKey(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}

/** One group's partial in one pane. */
export interface GroupPartial {
  readonly groupKey: string;
  readonly partial: PanePartial;
}

/** Which delta items an attempt writes: for a (view, pane, bucket), parts fromPart (0)..parts-1. */
export interface DeltaKey {
  readonly viewId: string;
  readonly paneStart: number;
  readonly bucket: number;
  readonly parts: number;
  readonly fromPart?: number;
}

/** One stored delta item: part `part` of the (view, pane, bucket) deltas one attempt of one batch wrote. */
export interface DeltaItem {
  readonly viewId: string;
  readonly paneStart: number;
  readonly bucket: number;
  readonly part: number;
  readonly data: Uint8Array;
}

/**
 * Packs one pane's group partials into delta items: grouped by bucket, each bucket cut into parts of at most
 * MAX_DELTA_PART_JSON. Times are stored relative to the pane start (shorter numbers).
 */
export function packDeltas(
  measures: ViewMeasures,
  viewId: string,
  paneStart: number,
  partials: Iterable<GroupPartial>,
): DeltaItem[] {
  const byBucket = new Map<number, string[]>();
  for (const { groupKey, partial } of partials) {
    const row = JSON.stringify([
      groupKey,
      partial.count,
      partial.minTime - paneStart,
      partial.maxTime - paneStart,
      measures.encodeList(partial),
    ]);
    const bucket = bucketOf(groupKey);
    const rows = byBucket.get(bucket);
    if (rows) rows.push(row);
    else byBucket.set(bucket, [row]);
  }
  const items: DeltaItem[] = [];
  for (const [bucket, rows] of [...byBucket].sort((a, b) => a[0] - b[0])) {
    let part = 0;
    for (const json of joinInParts(rows, MAX_DELTA_PART_JSON)) {
      items.push({ viewId, paneStart, bucket, part: part++, data: deflateRawSync(json) });
    }
  }
  return items;
}

/** The group partials of a delta item; `only`, if given, keeps that group alone (one group's read). */
export function unpackDelta(
  measures: ViewMeasures,
  paneStart: number,
  data: Uint8Array,
  only?: string,
): GroupPartial[] {
  const rows = JSON.parse(inflateRawSync(data).toString('utf8')) as Array<[string, number, number, number, unknown[]]>;
  const out: GroupPartial[] = [];
  for (const [groupKey, count, minTime, maxTime, encoded] of rows) {
    if (only !== undefined && groupKey !== only) continue;
    out.push({ groupKey, partial: measures.decodeList(count, minTime + paneStart, maxTime + paneStart, encoded) });
  }
  return out;
}

/** The keys of delta items, as an attempt's intent lists them. */
export function deltaKeys(items: readonly DeltaItem[]): DeltaKey[] {
  const keys = new Map<string, DeltaKey>();
  for (const item of items) {
    const id = `${item.viewId}|${item.paneStart}|${item.bucket}`;
    const parts = Math.max(keys.get(id)?.parts ?? 0, item.part + 1);
    keys.set(id, { viewId: item.viewId, paneStart: item.paneStart, bucket: item.bucket, parts });
  }
  return [...keys.values()];
}

/** How a group's window scored against its history (lambdas/core/anomaly/scoring.ts). */
export interface WindowScore {
  readonly score: number;
  readonly expected: { readonly low: number; readonly high: number };
  /** Reported as an anomaly (GET /anomalies). */
  readonly anomaly: boolean;
}

/** One group's final result in a compacted window. */
export interface GroupResult {
  readonly groupKey: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly count: number;
  readonly measures: Record<string, unknown>;
  /** Views with an anomaly detector: the window's score, once the group is warmed up. */
  readonly score?: WindowScore;
}

/** A compacted window's rows (results, or detector states) for the group hashes in [lo, hi). */
export interface ResultChunk {
  readonly lo: number;
  readonly hi: number;
  readonly results: number;
  readonly data: Uint8Array;
}

/**
 * Cuts a window's results into chunks by group hash: sorted by hash, cut where a chunk reaches
 * RESULT_CHUNK_JSON (never between two groups of the same hash). The chunks cover the whole hash space, so
 * the chunk holding a group is the one with the greatest `lo` at or below its hash.
 */
export function packResults(results: readonly GroupResult[]): ResultChunk[] {
  return packByHash(
    results.map((r) => {
      const row: unknown[] = [r.groupKey, r.windowStart, r.windowEnd, r.count, r.measures];
      const json = JSON.stringify(row);
      // Cut by the row without its score: the chunks' keys then depend on the window's results alone, so two
      // attempts that scored a window differently (a deploy changing its detector) still write the same
      // chunks, and the first writer wins each, instead of leaving overlapping chunks.
      return r.score
        ? { groupKey: r.groupKey, json: `${json.slice(0, -1)},${JSON.stringify(r.score)}]`, size: json.length }
        : { groupKey: r.groupKey, json, size: json.length };
    }),
  );
}

export function unpackResults(data: Uint8Array): GroupResult[] {
  const rows = JSON.parse(inflateRawSync(data).toString('utf8')) as Array<
    [string, number, number, number, Record<string, unknown>, WindowScore?]
  >;
  return rows.map(([groupKey, windowStart, windowEnd, count, measures, score]) =>
    score
      ? { groupKey, windowStart, windowEnd, count, measures, score }
      : { groupKey, windowStart, windowEnd, count, measures },
  );
}

/** Per-group JSON states (the anomaly detectors'), in chunks by group hash like a window's results. */
export function packStates(states: ReadonlyMap<string, unknown>): ResultChunk[] {
  return packByHash(
    [...states].map(([groupKey, state]) => {
      const json = JSON.stringify([groupKey, state]);
      return { groupKey, json, size: json.length };
    }),
  );
}

export function unpackStates(data: Uint8Array): Array<[string, unknown]> {
  return JSON.parse(inflateRawSync(data).toString('utf8')) as Array<[string, unknown]>;
}

/** Rows cut into chunks by group hash where their `size` (JSON characters) reaches RESULT_CHUNK_JSON. */
function packByHash(
  rows: ReadonlyArray<{ readonly groupKey: string; readonly json: string; readonly size: number }>,
): ResultChunk[] {
  const sorted = rows
    .map((r) => ({ hash: groupHash(r.groupKey), json: r.json, size: r.size }))
    .sort((a, b) => a.hash - b.hash || (a.json < b.json ? -1 : 1));
  const chunks: ResultChunk[] = [];
  let lo = 0;
  let current: string[] = [];
  let bytes = 0;
  const flush = (hi: number) => {
    chunks.push({ lo, hi, results: current.length, data: deflateRawSync(`[${current.join(',')}]`) });
    lo = hi;
    current = [];
    bytes = 0;
  };
  sorted.forEach((row, i) => {
    if (bytes > 0 && bytes + row.size > RESULT_CHUNK_JSON && row.hash !== sorted[i - 1]!.hash) flush(row.hash);
    current.push(row.json);
    bytes += row.size + 1;
  });
  flush(HASH_END);
  return chunks;
}

/** Rows joined as JSON arrays of at most `maxChars` characters each (a single larger row is its own part). */
function* joinInParts(rows: readonly string[], maxChars: number): Generator<string> {
  let current: string[] = [];
  let chars = 2;
  for (const row of rows) {
    if (current.length > 0 && chars + row.length + 1 > maxChars) {
      yield `[${current.join(',')}]`;
      current = [];
      chars = 2;
    }
    current.push(row);
    chars += row.length + 1;
  }
  if (current.length > 0) yield `[${current.join(',')}]`;
}
