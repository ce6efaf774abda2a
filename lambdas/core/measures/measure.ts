import type { MeasureSpec } from '../config.ts';

/** An event as decoded from JSON. */
export type Event = Readonly<Record<string, unknown>>;

/**
 * A mergeable partial aggregate. Two accumulators of the same window combine into the accumulator of their
 * union (`merge`), in any order and grouping: that law is what lets batches, shards, panes and sessions be
 * aggregated separately and combined on read.
 */
export interface Accumulator {
  /** Folds one event in (mutates). Events whose field is missing or of the wrong kind are ignored. */
  add(event: Event): void;
  /** Folds another accumulator of the same measure in (mutates this, never `other`). */
  merge(other: Accumulator): void;
  /** The value users see in `measures.<name>`. */
  result(): unknown;
  /** A compact JSON-safe form; `Measure.decode(encode())` merges exactly like the original. */
  encode(): unknown;
}

export interface Measure {
  readonly spec: MeasureSpec;
  create(): Accumulator;
  decode(encoded: unknown): Accumulator;
}

/**
 * SQL semantics: numeric measures take finite numbers only; anything else (missing, string, NaN) is ignored.
 *
 * This and `categoricalValue` take the field's value, not the event and the field name: each measure reads
 * `event[this.field]` in its own `add`, a site that sees one field name and a few event shapes and so is fast,
 * where one read shared by every measure and field is a generic lookup on every event.
 */
export function numericValue(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Categorical measures (distinct, topk) compare values as strings, so `5003` and `"5003"` are one value:
 * strings as they are, finite numbers and booleans through `String`. Missing, null, NaN, objects and arrays
 * are ignored, as SQL's `COUNT(DISTINCT x)` ignores NULL.
 */
/**
 * Categorical values (distinct, topk) compare by their first 128 characters: a summary keeps hundreds of
 * values in one DynamoDB item of at most 400 KB, so one huge value must not fill it.
 */
export const MAX_CATEGORICAL_CHARS = 128;

export function categoricalValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > MAX_CATEGORICAL_CHARS ? v.slice(0, MAX_CATEGORICAL_CHARS) : v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}
