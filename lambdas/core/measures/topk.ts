import type { MeasureSpec } from '../config.ts';
import { type Accumulator, categoricalValue, type Event, type Measure } from './measure.ts';

/**
 * Counters kept for a top-k of k: four per reported value, at least 256 and at most 2,048. The floor because
 * Misra–Gries' worst case is met by ordinary long-tailed data: over 10^5 Zipf(1) values, 64 counters find 6
 * of the true top 10 and undercount by up to 99 %, 256 counters find all 10 within 37 % (the 10th is rare);
 * a counter costs about 10 bytes plus its value. The ceiling (800, with k <= 200 and values cut to 128 characters) keeps a summary near 100 KB
 * of a 400 KB DynamoDB item.
 */
export function topkCapacity(k: number): number {
  return Math.min(800, Math.max(256, 4 * k));
}

/**
 * Misra–Gries frequent items with m counters, in the mergeable form of Agarwal et al., "Mergeable Summaries"
 * (PODS 2012). Counts are lower bounds: for every value x, with N the values counted and N̂ the sum of the
 * counters,
 *
 *     0 ≤ f(x) − count(x) ≤ (N − N̂)/(m+1) ≤ N/(m+1),
 *
 * after any sequence of adds and merges. Hence every value more frequent than N/(m+1) holds a counter, every
 * value more frequent than N/k + N/(m+1) is among the k reported, and while at most m distinct values have
 * been seen no counter was ever decremented: counts are exact.
 *
 * Adding a new value to full counters decrements them all (amortized O(1): each such step removes m from
 * their sum). Merging adds counters and, when more than m remain, subtracts the (m+1)-th largest count from
 * all and drops those left at zero or below. Merge is commutative; it is associative exactly while at most m
 * distinct values have been seen, and beyond that the grouping can change counts within the same bound.
 */
export class TopK implements Accumulator {
  counters = new Map<string, number>();
  /** Values counted, N. */
  n = 0;

  constructor(
    readonly field: string,
    readonly k: number,
    readonly capacity = topkCapacity(k),
  ) {}

  add(event: Event): void {
    const v = categoricalValue(event[this.field]);
    if (v !== undefined) this.addValue(v);
  }

  addValue(v: string): void {
    this.n++;
    const c = this.counters.get(v);
    if (c !== undefined) this.counters.set(v, c + 1);
    else if (this.counters.size < this.capacity) this.counters.set(v, 1);
    else {
      // forEach, not for-of: the same visits, without an entry array per counter on every decrement.
      this.counters.forEach((count, value, counters) => {
        if (count === 1) counters.delete(value);
        else counters.set(value, count - 1);
      });
    }
  }

  merge(other: TopK): void {
    for (const [value, count] of other.counters) this.counters.set(value, (this.counters.get(value) ?? 0) + count);
    this.n += other.n;
    this.prune();
  }

  private prune(): void {
    const excess = this.counters.size - this.capacity;
    if (excess <= 0) return;
    const counts = Float64Array.from(this.counters.values()).sort();
    const cut = counts[excess - 1]!; // the (m+1)-th largest
    for (const [value, count] of this.counters) {
      if (count <= cut) this.counters.delete(value);
      else this.counters.set(value, count - cut);
    }
  }

  /** The most any count falls short of the true frequency, (N − N̂)/(m+1). */
  errorBound(): number {
    let kept = 0;
    for (const c of this.counters.values()) kept += c;
    return (this.n - kept) / (this.capacity + 1);
  }

  /** Counters most frequent first, ties by value, so that equal states list (and encode) equally. */
  private sorted(): [string, number][] {
    return [...this.counters].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  result(): { value: string; count: number }[] {
    return this.sorted()
      .slice(0, this.k)
      .map(([value, count]) => ({ value, count }));
  }

  /** `[N, value, count, value, count, ...]`, most frequent first. */
  encode(): (string | number)[] {
    const out: (string | number)[] = [this.n];
    for (const [value, count] of this.sorted()) out.push(value, count);
    return out;
  }

  static decode(field: string, k: number, encoded: unknown): TopK {
    const where = `topk_${field} partial`;
    if (!Array.isArray(encoded) || encoded.length % 2 !== 1 || !isCount(encoded[0])) {
      throw new Error(`cannot decode ${where}: ${JSON.stringify(encoded)?.slice(0, 80)} is not [N, value, count, ...]`);
    }
    const topk = new TopK(field, k);
    topk.n = encoded[0];
    for (let i = 1; i < encoded.length; i += 2) {
      const value: unknown = encoded[i];
      const count: unknown = encoded[i + 1];
      if (typeof value !== 'string' || !isCount(count) || count === 0 || topk.counters.has(value)) {
        throw new Error(`cannot decode ${where}: entry ${JSON.stringify([value, count])} at ${i}`);
      }
      topk.counters.set(value, count);
    }
    if (topk.errorBound() < 0) throw new Error(`cannot decode ${where}: N = ${topk.n} is less than the counts`);
    // Written when k (so the number of counters) was larger: reduce it as a merge would.
    topk.prune();
    return topk;
  }
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

/** `topk_<field>`: `[{ value, count }, ...]`, most frequent first. */
export function topkMeasure(spec: MeasureSpec & { fn: 'topk' }): Measure {
  return {
    spec,
    create: () => new TopK(spec.field, spec.k),
    decode: (e) => TopK.decode(spec.field, spec.k, e),
  };
}
