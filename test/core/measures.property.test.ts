import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeasureSpec } from '../../lambdas/core/config.ts';
import { type Accumulator, createMeasure, type Event } from '../../lambdas/core/measures/index.ts';
import { type TopK, topkCapacity } from '../../lambdas/core/measures/topk.ts';
import { fold } from './measures-fixtures.ts';

/** A partial's state, compared through its stored form. */
function state(acc: Accumulator): unknown {
  return JSON.parse(JSON.stringify(acc.encode()));
}

function merged(spec: MeasureSpec, ...parts: readonly Event[][]): Accumulator {
  const [first, ...rest] = parts.map((events) => fold(spec, events));
  for (const p of rest) first!.merge(p);
  return first!;
}

// distinct: a few odd values, plus runs of up to 1,500 ids so the union of three often leaves the sparse form.
const distinctEvents = fc
  .tuple(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.string({ maxLength: 3 }), fc.constant(null)), {
      maxLength: 50,
    }),
    fc.array(fc.record({ base: fc.nat(5000), length: fc.nat(1500) }), { maxLength: 2 }),
  )
  .map(([odd, runs]) => [
    ...odd.map((bidder) => ({ bidder })),
    ...runs.flatMap(({ base, length }) => Array.from({ length }, (_, i) => ({ bidder: `b${base + i}` }))),
  ]);

// quantiles: any finite double (denormals, ±MAX_VALUE, -0), small integers with ties, extremes that collapse.
const quantileEvents = fc
  .array(
    fc.oneof(
      fc.double({ noNaN: true }),
      fc.integer({ min: -1000, max: 1000 }),
      fc.constantFrom(0, -0, 1e-300, 1e300, 5e-324, -Number.MAX_VALUE, 'not a number'),
    ),
    { maxLength: 200, size: 'medium' },
  )
  .map((values) => values.map((price) => ({ price })));

// maxBy/minBy: few prices, so ties are common; kept fields of every kind, sometimes missing.
const extremeEvents = fc.array(
  fc.record(
    {
      price: fc.integer({ min: -3, max: 3 }),
      auction: fc.integer({ min: 0, max: 5 }),
      bidder: fc.oneof(fc.integer(), fc.string({ maxLength: 2 }), fc.constant(null), fc.constant([1])),
    },
    { requiredKeys: ['price'] },
  ),
  { maxLength: 30 },
);

interface ExactCase {
  readonly spec: MeasureSpec;
  readonly events: fc.Arbitrary<Event[]>;
}

const EXACT_CASES: ExactCase[] = [
  { spec: { fn: 'distinct', field: 'bidder', name: 'distinct_bidder' }, events: distinctEvents },
  {
    spec: { fn: 'quantiles', field: 'price', q: [0, 0.5, 0.9, 1], name: 'quantiles_price' },
    events: quantileEvents,
  },
  { spec: { fn: 'maxBy', field: 'price', keep: ['auction', 'bidder'], name: 'maxBy_price' }, events: extremeEvents },
  { spec: { fn: 'minBy', field: 'price', keep: ['auction', 'bidder'], name: 'minBy_price' }, events: extremeEvents },
];

for (const { spec, events } of EXACT_CASES) {
  describe(`${spec.name} merge laws`, () => {
    const three = fc.tuple(events, events, events);

    it('is associative', () => {
      fc.assert(
        fc.property(three, ([a, b, c]) => {
          const left = merged(spec, a, b);
          left.merge(fold(spec, c));
          const right = fold(spec, a);
          right.merge(merged(spec, b, c));
          expect(state(left)).toEqual(state(right));
        }),
      );
    });

    it('is commutative', () => {
      fc.assert(
        fc.property(three, ([a, b]) => {
          expect(state(merged(spec, a, b))).toEqual(state(merged(spec, b, a)));
        }),
      );
    });

    it('merges decoded partials exactly as the originals', () => {
      const m = createMeasure(spec);
      fc.assert(
        fc.property(three, ([a, b]) => {
          const decoded = m.decode(state(fold(spec, a)));
          decoded.merge(m.decode(state(fold(spec, b))));
          expect(state(decoded)).toEqual(state(merged(spec, a, b)));
          expect(decoded.result()).toEqual(merged(spec, a, b).result());
        }),
      );
    });

    it('merges into the partial of all the events, and leaves the other partial as it was', () => {
      fc.assert(
        fc.property(three, ([a, b]) => {
          const acc = fold(spec, a);
          const other = fold(spec, b);
          const before = state(other);
          acc.merge(other);
          expect(state(acc)).toEqual(state(fold(spec, [...a, ...b])));
          expect(state(other)).toEqual(before);
        }),
      );
    });
  });
}

describe('topk_auction merge laws', () => {
  const K = 1;
  const spec: MeasureSpec = { fn: 'topk', field: 'auction', k: K, name: 'topk_auction' };
  const capacity = topkCapacity(K);
  // Skewed values over 100 to 1,000 possible ones: the 256 counters sometimes hold them all, often not.
  const three = fc.integer({ min: 100, max: 1000 }).chain((range) => {
    const events = fc
      .array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: range })), {
        minLength: 100,
        maxLength: 500,
        size: 'max',
      })
      .map((values) => values.map((auction) => ({ auction })));
    return fc.tuple(events, events, events);
  });

  function expectWithinBound(acc: TopK, all: readonly { auction: number }[]): void {
    const exact = new Map<string, number>();
    for (const e of all) exact.set(String(e.auction), (exact.get(String(e.auction)) ?? 0) + 1);
    const bound = acc.errorBound();
    expect(bound).toBeLessThanOrEqual(all.length / (capacity + 1));
    for (const [value, count] of acc.counters) {
      expect(count).toBeLessThanOrEqual(exact.get(value)!);
      expect(count).toBeGreaterThanOrEqual(exact.get(value)! - bound);
    }
    for (const [value, f] of exact) if (f > bound) expect(acc.counters.has(value)).toBe(true);
  }

  it('is associative exactly while the distinct values fit, and within the bound in either grouping beyond', () => {
    fc.assert(
      fc.property(three, ([a, b, c]) => {
        const left = merged(spec, a, b);
        left.merge(fold(spec, c));
        const right = fold(spec, a);
        right.merge(merged(spec, b, c));
        const all = [...a, ...b, ...c];
        if (new Set(all.map((e) => e.auction)).size <= capacity) {
          expect(state(left)).toEqual(state(right));
          expect(state(left)).toEqual(state(fold(spec, all)));
        } else {
          expectWithinBound(left as TopK, all);
          expectWithinBound(right as TopK, all);
        }
      }),
    );
  });

  it('is commutative', () => {
    fc.assert(
      fc.property(three, ([a, b]) => {
        expect(state(merged(spec, a, b))).toEqual(state(merged(spec, b, a)));
      }),
    );
  });

  it('merges decoded partials exactly as the originals, and leaves the other partial as it was', () => {
    const m = createMeasure(spec);
    fc.assert(
      fc.property(three, ([a, b]) => {
        const decoded = m.decode(state(fold(spec, a)));
        const other = m.decode(state(fold(spec, b)));
        const before = state(other);
        decoded.merge(other);
        expect(state(decoded)).toEqual(state(merged(spec, a, b)));
        expect(state(other)).toEqual(before);
      }),
    );
  });
});
