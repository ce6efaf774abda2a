import type { MeasureSpec } from '../config.ts';
import { type Accumulator, type Event, type Measure, numericValue } from './measure.ts';

/**
 * DDSketch (Masson, Rim, Lee 2019) with the logarithmic mapping: a value v > 0 goes to bucket
 * ⌈log_γ v⌉ with γ = (1+α)/(1−α), and a bucket is read back as 2γ^k/(1+γ), within α of every value in it.
 * α = 1 %. Negative values have their own buckets (by |v|); zero has a counter.
 *
 * Our own rather than `@datadog/sketches-js` 2.1.1: its `merge` drops the negative buckets of the
 * other sketch, its `toProto` needs `protobufjs`, which it does not declare, its decoded sketches lose min
 * and max, and its dense store is unbounded.
 *
 * Bounded: each sign keeps at most `BIN_LIMIT` consecutive buckets, the largest magnitudes; smaller
 * magnitudes collapse into the lowest kept bucket. 2,048 buckets of 2 % cover a ratio of 6·10^17 between the
 * smallest and largest magnitude (say 1 ns to 19 years) before anything collapses. Collapsing depends only
 * on the largest bucket seen, so the state is a function of the multiset of values: merge is associative and
 * commutative exactly, and exact min and max make q = 0 and q = 1 exact.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
const INV_LN_GAMMA = 1 / LN_GAMMA;
const BUCKET_VALUE = 2 / (1 + GAMMA);
export const BIN_LIMIT = 2048;

function bucketOf(magnitude: number): number {
  return Math.ceil(Math.log(magnitude) * INV_LN_GAMMA);
}

function bucketValue(key: number): number {
  return Math.exp(key * LN_GAMMA) * BUCKET_VALUE;
}

const NO_BINS = new Float64Array(0);

/** Counts of consecutive buckets `minKey..maxKey`, stored from key `offset` on. */
class BucketStore {
  bins = NO_BINS;
  offset = 0;
  minKey = Number.POSITIVE_INFINITY;
  maxKey = Number.NEGATIVE_INFINITY;
  count = 0;

  add(key: number, weight: number): void {
    if (key < this.minKey || key > this.maxKey) key = Math.max(key, this.extend(key, key));
    this.bins[key - this.offset]! += weight;
    this.count += weight;
  }

  merge(other: BucketStore): void {
    if (other.count === 0) return;
    const floor = this.extend(other.minKey, other.maxKey);
    for (let key = other.minKey; key <= other.maxKey; key++) {
      const c = other.bins[key - other.offset]!;
      if (c !== 0) this.bins[Math.max(key, floor) - this.offset]! += c;
    }
    this.count += other.count;
  }

  /** Widens the range to take keys lo..hi, collapsing below the limit; returns the lowest key kept. */
  private extend(lo: number, hi: number): number {
    const newMax = Math.max(this.maxKey, hi);
    const newMin = Math.max(Math.min(this.minKey, lo), newMax - BIN_LIMIT + 1);
    if (newMin === this.minKey && newMax === this.maxKey) return newMin;
    let collapsed = 0;
    if (this.count > 0) {
      for (let key = this.minKey; key < newMin && key <= this.maxKey; key++) {
        collapsed += this.bins[key - this.offset]!;
        this.bins[key - this.offset] = 0;
      }
    }
    if (newMin < this.offset || newMax >= this.offset + this.bins.length) {
      const needed = newMax - newMin + 1;
      // Twice the range, so a sketch that keeps growing one way is copied O(log range) times.
      const length = Math.max(64, 2 * needed);
      const offset = newMin - Math.floor((length - needed) / 2);
      const bins = new Float64Array(length);
      if (this.count > 0) {
        for (let key = Math.max(this.minKey, newMin); key <= this.maxKey; key++) {
          bins[key - offset] = this.bins[key - this.offset]!;
        }
      }
      this.bins = bins;
      this.offset = offset;
    }
    this.bins[newMin - this.offset]! += collapsed;
    this.minKey = newMin;
    this.maxKey = newMax;
    return newMin;
  }

  /** The key of the bucket holding the value of 0-based rank `rank`, counting from the lowest key. */
  keyAtRank(rank: number): number {
    let seen = 0;
    for (let key = this.minKey; key < this.maxKey; key++) {
      seen += this.bins[key - this.offset]!;
      if (seen > rank) return key;
    }
    return this.maxKey;
  }

  /** The same, counting from the highest key. */
  keyAtRankFromTop(rank: number): number {
    let seen = 0;
    for (let key = this.maxKey; key > this.minKey; key--) {
      seen += this.bins[key - this.offset]!;
      if (seen > rank) return key;
    }
    return this.minKey;
  }

  /** `[minKey, c, c, -r, c, ...]`: counts from `minKey` up, where `-r` stands for r empty buckets. */
  encode(): number[] {
    if (this.count === 0) return [];
    const out = [this.minKey];
    let empty = 0;
    for (let key = this.minKey; key <= this.maxKey; key++) {
      const c = this.bins[key - this.offset]!;
      if (c === 0) {
        empty++;
        continue;
      }
      if (empty > 0) out.push(-empty);
      empty = 0;
      out.push(c);
    }
    return out;
  }

  static decode(encoded: unknown, where: string): BucketStore {
    if (!Array.isArray(encoded) || !encoded.every((x) => Number.isSafeInteger(x))) {
      throw new Error(`cannot decode ${where}: ${JSON.stringify(encoded)?.slice(0, 80)} is not a list of integers`);
    }
    const store = new BucketStore();
    let key = encoded[0] as number;
    for (let i = 1; i < encoded.length; i++) {
      const c = encoded[i] as number;
      if (c < 0) {
        key -= c;
        continue;
      }
      if (c === 0) throw new Error(`cannot decode ${where}: an empty bucket must be written as a negative run`);
      store.add(key++, c);
    }
    return store;
  }
}

export class QuantileSketch implements Accumulator {
  positive = new BucketStore();
  negative = new BucketStore();
  zeros = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(
    readonly field: string,
    readonly qs: readonly number[],
  ) {}

  add(event: Event): void {
    const v = numericValue(event[this.field]);
    if (v !== undefined) this.addValue(v);
  }

  addValue(v: number): void {
    if (v > 0) this.positive.add(bucketOf(v), 1);
    else if (v < 0) this.negative.add(bucketOf(-v), 1);
    else {
      this.zeros++;
      v = 0; // not -0
    }
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: QuantileSketch): void {
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zeros += other.zeros;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  get count(): number {
    return this.negative.count + this.zeros + this.positive.count;
  }

  /**
   * The value of 0-based rank ⌊q·(n−1)⌋ among the n values (the lower of the two around the exact
   * quantile), within 1 % relative error; q = 0 and q = 1 are the exact min and max.
   */
  quantile(q: number): number | null {
    const n = this.count;
    if (n === 0) return null;
    const rank = Math.floor(q * (n - 1));
    if (rank <= 0) return this.min;
    if (rank >= n - 1) return this.max;
    let v: number;
    if (rank < this.negative.count) v = -bucketValue(this.negative.keyAtRankFromTop(rank));
    else if (rank < this.negative.count + this.zeros) v = 0;
    else v = bucketValue(this.positive.keyAtRank(rank - this.negative.count - this.zeros));
    // The true value lies in [min, max]; clamping can only bring the estimate closer.
    return Math.min(this.max, Math.max(this.min, v));
  }

  result(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const q of this.qs) out[String(q)] = this.quantile(q);
    return out;
  }

  /** `[min, max, zeros, positive buckets, negative buckets]`; min and max are null when empty. */
  encode(): [number | null, number | null, number, number[], number[]] {
    const empty = this.count === 0;
    return [
      empty ? null : this.min,
      empty ? null : this.max,
      this.zeros,
      this.positive.encode(),
      this.negative.encode(),
    ];
  }

  static decode(field: string, qs: readonly number[], encoded: unknown): QuantileSketch {
    const where = `quantiles_${field} partial`;
    if (!Array.isArray(encoded) || encoded.length !== 5) {
      throw new Error(
        `cannot decode ${where}: ${JSON.stringify(encoded)?.slice(0, 80)} is not [min, max, zeros, positive, negative]`,
      );
    }
    const [min, max, zeros] = encoded as unknown[];
    const sketch = new QuantileSketch(field, qs);
    sketch.positive = BucketStore.decode(encoded[3], where);
    sketch.negative = BucketStore.decode(encoded[4], where);
    if (!Number.isSafeInteger(zeros) || (zeros as number) < 0) {
      throw new Error(`cannot decode ${where}: zero count ${JSON.stringify(zeros)} is not a non-negative integer`);
    }
    sketch.zeros = zeros as number;
    if (sketch.count > 0) {
      if (typeof min !== 'number' || typeof max !== 'number' || !(min <= max)) {
        throw new Error(`cannot decode ${where}: min ${JSON.stringify(min)} and max ${JSON.stringify(max)}`);
      }
      sketch.min = min;
      sketch.max = max;
    }
    return sketch;
  }
}

/** `quantiles_<field>`: `{ "0.5": v, "0.99": v }`, keyed by each q as written. */
export function quantilesMeasure(spec: MeasureSpec & { fn: 'quantiles' }): Measure {
  return {
    spec,
    create: () => new QuantileSketch(spec.field, spec.q),
    decode: (e) => QuantileSketch.decode(spec.field, spec.q, e),
  };
}
