import { describe, expect, it } from 'vitest';
import { groupValue } from '../../lambdas/core/group.ts';
import { extremeByMeasure } from '../../lambdas/core/measures/extreme-by.ts';
import {
  boundedJson,
  MAX_NESTING_DEPTH,
  NestingTooDeepError,
  nestingDepth,
  OMITTED_TOO_DEEP,
} from '../../lambdas/core/nesting.ts';

/** `[[[…1…]]]`, `depth` arrays deep, built by parsing as an event from the wire would be. */
const nestedArray = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`);

describe('nestingDepth', () => {
  it('counts objects and arrays inside one another, the outermost included', () => {
    expect(nestingDepth(5)).toBe(0);
    expect(nestingDepth('x')).toBe(0);
    expect(nestingDepth(null)).toBe(0);
    expect(nestingDepth({})).toBe(1);
    expect(nestingDepth({ a: 1, b: [1, 2] })).toBe(2);
    expect(nestingDepth({ a: [{ b: {} }], c: 1 })).toBe(4);
    expect(nestingDepth(nestedArray(MAX_NESTING_DEPTH))).toBe(MAX_NESTING_DEPTH);
  });

  it('stops at limit + 1 and never recurses, however deep the value', () => {
    expect(nestingDepth(nestedArray(300_000))).toBe(MAX_NESTING_DEPTH + 1);
    expect(nestingDepth(nestedArray(10), 3)).toBe(4);
  });

  it('finds the deep branch among wide shallow ones', () => {
    const wide = { many: Array.from({ length: 10_000 }, (_, i) => ({ i })), deep: nestedArray(40) };
    expect(nestingDepth(wide)).toBe(MAX_NESTING_DEPTH + 1);
  });
});

describe('boundedJson', () => {
  it('is JSON.stringify up to the limit', () => {
    const value = { x: nestedArray(MAX_NESTING_DEPTH - 1) };
    expect(boundedJson(value)).toBe(JSON.stringify(value));
  });

  it('throws NestingTooDeepError naming the value beyond it, where JSON.stringify would overflow the stack', () => {
    const deep = { x: nestedArray(10_000) };
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(() => boundedJson(deep, 'event')).toThrow(NestingTooDeepError);
    expect(() => boundedJson(deep, 'event')).toThrow(`event is nested deeper than ${MAX_NESTING_DEPTH} levels`);
  });
});

describe('event data walked as JSON', () => {
  it('groupValue refuses a group value nested too deeply, naming it', () => {
    expect(groupValue({ a: [1] })).toBe('{"a":[1]}');
    expect(() => groupValue(nestedArray(10_000))).toThrow('group value is nested deeper than');
  });

  it('maxBy keeps a placeholder for a kept field nested too deeply instead of overflowing', () => {
    const measure = extremeByMeasure({ name: 'maxBy_price', fn: 'maxBy', field: 'price', keep: ['item'] });
    const acc = measure.create();
    acc.add({ price: 5, item: nestedArray(10_000) });
    expect(acc.result()).toEqual({ price: 5, item: OMITTED_TOO_DEEP });
  });
});
