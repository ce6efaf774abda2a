import type { MeasureSpec } from '../config.ts';
import { isTooDeep, OMITTED_TOO_DEEP } from '../nesting.ts';
import { type Accumulator, type Event, type Measure, numericValue } from './measure.ts';

/** A kept value larger than this (as JSON) is kept as the start of its JSON text: items are at most 400 KB. */
const MAX_KEPT_JSON = 1024;

function boundedKept(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > MAX_KEPT_JSON ? value.slice(0, MAX_KEPT_JSON) : value;
  // The aggregator sets such events aside before any measure sees them; a kept value must never overflow anyway.
  if (isTooDeep(value)) return OMITTED_TOO_DEEP;
  const json = JSON.stringify(value);
  return json.length > MAX_KEPT_JSON ? json.slice(0, MAX_KEPT_JSON) : value;
}

/**
 * `maxBy`/`minBy`: the field and the kept fields of one event with the extreme value of the field. Among
 * events with equal values, the one whose kept values have the smaller JSON text wins: a total order, so the
 * result does not depend on arrival or merge order (merge is associative and commutative exactly).
 */
export class ExtremeBy implements Accumulator {
  /** `[value, ...kept values]`, or null before the first event with a finite value. */
  best: unknown[] | null = null;
  private bestJson: string | null = null;

  constructor(
    readonly field: string,
    /** Kept fields other than `field`, in the configured order. */
    readonly keep: readonly string[],
    readonly sign: 1 | -1,
  ) {}

  add(event: Event): void {
    let v = numericValue(event[this.field]);
    if (v === undefined) return;
    if (v === 0) v = 0; // not -0
    const best = this.best;
    if (best !== null) {
      const d = (v - (best[0] as number)) * this.sign;
      if (d < 0) return;
      if (d === 0) {
        this.offer(this.pick(v, event));
        return;
      }
    }
    this.best = this.pick(v, event);
    this.bestJson = null;
  }

  private pick(v: number, event: Event): unknown[] {
    const row: unknown[] = [v];
    for (const f of this.keep) row.push(boundedKept(event[f]));
    return row;
  }

  private json(): string {
    this.bestJson ??= JSON.stringify(this.best);
    return this.bestJson;
  }

  /** Takes `row` if it beats the current best (never mutates `row`: it may be another accumulator's). */
  private offer(row: unknown[]): void {
    const best = this.best;
    if (best !== null) {
      const d = ((row[0] as number) - (best[0] as number)) * this.sign;
      if (d < 0) return;
      if (d === 0) {
        const json = JSON.stringify(row);
        if (json >= this.json()) return;
        this.best = row;
        this.bestJson = json;
        return;
      }
    }
    this.best = row;
    this.bestJson = null;
  }

  merge(other: ExtremeBy): void {
    if (other.best !== null) this.offer(other.best);
  }

  result(): Record<string, unknown> | null {
    const best = this.best;
    if (best === null) return null;
    const out: Record<string, unknown> = { [this.field]: best[0] };
    this.keep.forEach((f, i) => {
      out[f] = best[i + 1];
    });
    return out;
  }

  encode(): unknown[] | null {
    return this.best;
  }

  static decode(field: string, keep: readonly string[], sign: 1 | -1, encoded: unknown): ExtremeBy {
    const acc = new ExtremeBy(field, keep, sign);
    if (encoded === null) return acc;
    if (!Array.isArray(encoded) || encoded.length !== keep.length + 1 || !Number.isFinite(encoded[0])) {
      throw new Error(
        `cannot decode ${sign > 0 ? 'maxBy' : 'minBy'}_${field} partial: ${JSON.stringify(encoded)?.slice(0, 80)} is not null or [${[field, ...keep].join(', ')}]`,
      );
    }
    acc.best = encoded;
    return acc;
  }
}

/** `maxBy_<field>` / `minBy_<field>`: `{ <field>: v, <kept>: ... }` of an event with the extreme value. */
export function extremeByMeasure(spec: MeasureSpec & { fn: 'maxBy' | 'minBy' }): Measure {
  const keep = [...new Set(spec.keep)].filter((f) => f !== spec.field);
  const sign = spec.fn === 'maxBy' ? 1 : -1;
  return {
    spec,
    create: () => new ExtremeBy(spec.field, keep, sign),
    decode: (e) => ExtremeBy.decode(spec.field, keep, sign, e),
  };
}
