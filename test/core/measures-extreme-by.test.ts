import { describe, expect, it } from 'vitest';
import type { MeasureSpec } from '../../lambdas/core/config.ts';
import { createMeasure } from '../../lambdas/core/measures/index.ts';
import { fold } from './measures-fixtures.ts';

const MAX_BY: MeasureSpec = { fn: 'maxBy', field: 'price', keep: ['auction', 'bidder'], name: 'maxBy_price' };
const MIN_BY: MeasureSpec = { fn: 'minBy', field: 'price', keep: ['auction', 'bidder'], name: 'minBy_price' };

const BIDS = [
  { price: 120, auction: 5001, bidder: 1001 },
  { price: 9120, auction: 5003, bidder: 1007, extra: 'not kept' },
  { price: 15, auction: 5002, bidder: 1003 },
  { price: 4000, auction: 5003, bidder: 1002 },
];

describe('maxBy / minBy', () => {
  it('is null for an empty partial', () => {
    expect(createMeasure(MAX_BY).create().result()).toBeNull();
  });

  it('gives the field and the kept fields of the event with the largest value', () => {
    expect(fold(MAX_BY, BIDS).result()).toEqual({ price: 9120, auction: 5003, bidder: 1007 });
  });

  it('gives the field and the kept fields of the event with the smallest value', () => {
    expect(fold(MIN_BY, BIDS).result()).toEqual({ price: 15, auction: 5002, bidder: 1003 });
  });

  it('ignores events whose field is missing or not a finite number', () => {
    const events = [{ price: '99999', auction: 1 }, { auction: 2 }, { price: null }, ...BIDS];
    expect(fold(MAX_BY, events).result()).toEqual({ price: 9120, auction: 5003, bidder: 1007 });
  });

  it('keeps a missing kept field as null', () => {
    expect(fold(MAX_BY, [{ price: 1, auction: 7 }]).result()).toEqual({ price: 1, auction: 7, bidder: null });
  });

  it('breaks ties by the smaller JSON of the kept values, whatever the order', () => {
    const tied = [
      { price: 10, auction: 2, bidder: 'b' },
      { price: 10, auction: 10, bidder: 'a' },
      { price: 10, auction: 2, bidder: 'a' },
    ];
    const expected = { price: 10, auction: 10, bidder: 'a' }; // "[10,10," < "[10,2,"
    expect(fold(MAX_BY, tied).result()).toEqual(expected);
    expect(fold(MAX_BY, [...tied].reverse()).result()).toEqual(expected);
  });

  it('stores the values only, in field-then-keep order', () => {
    expect(fold(MAX_BY, BIDS).encode()).toEqual([9120, 5003, 1007]);
  });

  it('decodes what it encodes, and rejects a partial of another shape', () => {
    const m = createMeasure(MAX_BY);
    expect(m.decode([9120, 5003, 1007]).result()).toEqual({ price: 9120, auction: 5003, bidder: 1007 });
    expect(m.decode(null).result()).toBeNull();
    expect(() => m.decode([9120, 5003])).toThrow(
      /cannot decode maxBy_price partial: \[9120,5003\] is not null or \[price, auction, bidder\]/,
    );
  });
});
