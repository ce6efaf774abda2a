import type { MeasureSpec } from '../../lambdas/core/config.ts';
import { type Accumulator, createMeasure, type Event } from '../../lambdas/core/measures/index.ts';

export { mulberry32 } from '../../bench/nexmark.ts';

/** Zipf(s) over 1..n by inversion of the cumulative weights. */
export function zipf(random: () => number, n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s;
    cdf[i] = total;
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function fold(measure: MeasureSpec, events: readonly Event[]): Accumulator {
  const acc = createMeasure(measure).create();
  for (const e of events) acc.add(e);
  return acc;
}

/**
 * Deals events to `parts` partials at random, then merges the partials in a random tree: what batches,
 * shards, panes and sessions do to a window's events.
 */
export function foldSplit(
  measure: MeasureSpec,
  events: readonly Event[],
  parts: number,
  random: () => number,
): Accumulator {
  const m = createMeasure(measure);
  const partials = Array.from({ length: parts }, () => m.create());
  for (const e of events) partials[Math.floor(random() * parts)]!.add(e);
  // Each partial goes through its stored form, as it would between batches.
  const pool = partials.map((p) => m.decode(JSON.parse(JSON.stringify(p.encode()))));
  while (pool.length > 1) {
    const [a] = pool.splice(Math.floor(random() * pool.length), 1);
    pool[Math.floor(random() * pool.length)]!.merge(a!);
  }
  return pool[0]!;
}
