import { describe, expect, it } from 'vitest';
import type { MeasureSpec } from '../../lambdas/core/config.ts';
import type { Event } from '../../lambdas/core/measures/index.ts';
import { createMeasure } from '../../lambdas/core/measures/index.ts';
import { BIN_LIMIT, RELATIVE_ACCURACY } from '../../lambdas/core/measures/quantiles.ts';
import { fold, foldSplit, gaussian, mulberry32 } from './measures-fixtures.ts';

const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];
const QUANTILES: MeasureSpec = { fn: 'quantiles', field: 'price', q: QS, name: 'quantiles_price' };
/** Floating-point slack on a bucket boundary, far below the 1 % promised. */
const SLACK = 1e-12;

/** The exact answer: the value of 0-based rank ⌊q·(n−1)⌋ in sorted order. */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function expectWithinRelativeError(result: unknown, values: number[]): void {
  const sorted = Float64Array.from(values).sort();
  const got = result as Record<string, number>;
  for (const q of QS) {
    const exact = exactQuantile(sorted, q);
    const error = Math.abs(got[String(q)]! - exact);
    expect(error, `q=${q}: ${got[String(q)]} vs exact ${exact}`).toBeLessThanOrEqual(
      Math.abs(exact) * (RELATIVE_ACCURACY + SLACK),
    );
  }
}

const DISTRIBUTIONS: Record<string, (random: () => number) => number> = {
  // Latencies: log-normal over several orders of magnitude.
  'log-normal latencies': (r) => Math.exp(3 + 2 * gaussian(r)),
  // Prices: integers with many zeros and heavy ties.
  'integer prices with zeros': (r) => (r() < 0.1 ? 0 : Math.floor(Math.exp(6 + gaussian(r)))),
  // Changes: signed, around zero.
  'signed values around zero': (r) => gaussian(r) * 1000,
};

describe('quantiles', () => {
  it('gives null for every q of an empty partial, keyed by q as written', () => {
    expect(createMeasure(QUANTILES).create().result()).toEqual(Object.fromEntries(QS.map((q) => [String(q), null])));
  });

  it('ignores missing and non-finite values, and keeps 0 and negatives', () => {
    const events: Event[] = [{ price: -5 }, { price: 0 }, { price: '7' }, {}, { price: null }, { price: 3 }];
    const result = fold(QUANTILES, events).result() as Record<string, number>;
    expect([result['0'], result['0.5'], result['1']]).toEqual([-5, 0, 3]);
  });

  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    const random = mulberry32(name.length);
    const values = Array.from({ length: 100_000 }, () => draw(random));
    const events = values.map((price) => ({ price }));

    it(`is within 1 % of every exact quantile of 10^5 ${name} in one partial`, () => {
      expectWithinRelativeError(fold(QUANTILES, events).result(), values);
    });

    it(`is within 1 % of every exact quantile of 10^5 ${name} after merging 16 random partials`, () => {
      expectWithinRelativeError(foldSplit(QUANTILES, events, 16, mulberry32(99)).result(), values);
    });
  }

  it('keeps at most the bucket limit per sign and stays accurate for the largest magnitudes', () => {
    const random = mulberry32(5);
    // 10^-300 .. 10^300: far more buckets than the limit.
    const values = Array.from({ length: 100_000 }, () => 10 ** (600 * random() - 300));
    const acc = fold(
      QUANTILES,
      values.map((price) => ({ price })),
    );
    const [, , , positive] = acc.encode() as [unknown, unknown, unknown, number[]];
    expect(positive.length).toBeLessThanOrEqual(BIN_LIMIT + 1);
    // Only magnitudes below the 2,048 largest buckets (10^283 up) are collapsed: q ≥ 0.99 stays within 1 %.
    const sorted = Float64Array.from(values).sort();
    const result = acc.result() as Record<string, number>;
    for (const q of [0.99, 0.999]) {
      expect(Math.abs(result[String(q)]! / exactQuantile(sorted, q) - 1)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
  });

  it('keeps 10^5 log-normal values in a few kilobytes', () => {
    const random = mulberry32(6);
    const events = Array.from({ length: 100_000 }, () => ({ price: Math.exp(3 + 2 * gaussian(random)) }));
    expect(JSON.stringify(fold(QUANTILES, events).encode()).length).toBeLessThan(8_000);
  });

  it('decodes what it encodes', () => {
    const random = mulberry32(7);
    const acc = fold(
      QUANTILES,
      Array.from({ length: 1000 }, () => ({ price: gaussian(random) * 100 })),
    );
    const decoded = createMeasure(QUANTILES).decode(JSON.parse(JSON.stringify(acc.encode())));
    expect(decoded.encode()).toEqual(acc.encode());
    expect(decoded.result()).toEqual(acc.result());
  });

  it('rejects a partial of another shape, naming it', () => {
    expect(() => createMeasure(QUANTILES).decode({ bins: [] })).toThrow(
      /cannot decode quantiles_price partial: \{"bins":\[\]\} is not \[min, max, zeros, positive, negative\]/,
    );
  });
});
