/**
 * How deeply an event's objects and arrays nest, and JSON text that refuses values nested too deeply.
 *
 * `JSON.parse` reads any depth (V8 parses iteratively), but `JSON.stringify`, and any recursive walk, overflow
 * the stack at a few thousand levels: one event nested 10,000 deep would fail its whole request at ingest, or
 * fail its batch for ever in the aggregator (side records, group values and kept fields are all JSON). Events
 * deeper than the limit are refused by index at the API and set aside as dead letters by the aggregator.
 */

/** Objects and arrays inside one another, the event itself included. Real events use a handful of levels. */
export const MAX_NESTING_DEPTH = 32;

/** What the side output keeps instead of an event too deeply nested to write as JSON. */
export const OMITTED_TOO_DEEP = `(omitted: nested deeper than ${MAX_NESTING_DEPTH} levels)`;

/**
 * The nesting depth of `value`: 0 for a primitive, 1 for `{}` or `[1]`, 2 for `{"a":[1]}`. Iterative, so any
 * depth is safe; the walk stops as soon as the depth passes `limit` and returns `limit + 1`.
 */
export function nestingDepth(value: unknown, limit = MAX_NESTING_DEPTH): number {
  if (typeof value !== 'object' || value === null) return 0;
  const pending: object[] = [value];
  const depths: number[] = [1];
  let max = 0;
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > max) {
      max = depth;
      if (max > limit) return limit + 1;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        pending.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return max;
}

/** True when `value` nests deeper than MAX_NESTING_DEPTH. */
export function isTooDeep(value: unknown): boolean {
  return nestingDepth(value) > MAX_NESTING_DEPTH;
}

/** Thrown by `boundedJson` for a value nested deeper than MAX_NESTING_DEPTH. */
export class NestingTooDeepError extends Error {
  constructor(what: string) {
    super(`${what} is nested deeper than ${MAX_NESTING_DEPTH} levels`);
    this.name = 'NestingTooDeepError';
  }
}

/**
 * `JSON.stringify(value)`, except that a value nested deeper than MAX_NESTING_DEPTH throws NestingTooDeepError
 * (naming `what`) instead of overflowing the stack.
 */
export function boundedJson(value: unknown, what = 'value'): string {
  if (isTooDeep(value)) throw new NestingTooDeepError(what);
  return JSON.stringify(value);
}
