/**
 * Filtering and grouping events. Group values compare as strings: `{"auction": 5003}` and
 * `{"auction": "5003"}` are the same group, so the results API can address a group from a query string.
 */
import type { FieldValue, ViewSpec } from './config.ts';
import type { Event } from './measures/index.ts';
import { boundedJson } from './nesting.ts';

export type GroupValues = ReadonlyArray<string | null>;

export function matchesWhere(event: Event, where: ReadonlyArray<readonly [string, FieldValue]>): boolean {
  for (const [field, value] of where) {
    if (event[field] !== value) return false;
  }
  return true;
}

/**
 * Group values are strings; a missing or null field is the null group; objects group by their JSON. Throws
 * NestingTooDeepError for an object nested too deeply to write as JSON.
 */
export function groupValue(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') return boundedJson(value, 'group value');
  return String(value);
}

export function groupValuesOf(event: Event, groupBy: readonly string[]): GroupValues {
  return groupBy.map((field) => groupValue(event[field]));
}

/** The group values a group key was made of (groupKeyOf's inverse). */
export function groupValuesOfKey(groupKey: string): GroupValues {
  return JSON.parse(groupKey) as GroupValues;
}

/**
 * The group's identity in storage keys: exactly `JSON.stringify(values)` (stored keys depend on it), built
 * without the serializer when every value is null or a string JSON writes as it is, as group values nearly
 * always are; anything else goes to `JSON.stringify`.
 */
export function groupKeyOf(values: GroupValues): string {
  let key = '[';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) key += ',';
    if (value === null) key += 'null';
    else if (typeof value === 'string' && isVerbatimInJson(value)) key += `"${value}"`;
    else return JSON.stringify(values);
  }
  return `${key}]`;
}

/**
 * Whether JSON writes `s` between its quotes unchanged: no quote, backslash or control character, which it
 * escapes, and no surrogate, since it escapes lone ones (checking pairs is not worth it: they go the slow way).
 */
function isVerbatimInJson(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

export function groupObject(view: Pick<ViewSpec, 'groupBy'>, values: GroupValues): Record<string, string | null> {
  return Object.fromEntries(view.groupBy.map((field, i) => [field, values[i] ?? null]));
}

/** A view's identity in storage keys: its name and the fingerprint of what it computes. */
export function viewIdOf(view: ViewSpec): string {
  return `${view.name}@${viewVersion(view)}`;
}

/**
 * A short fingerprint of what a view computes. Storage keys include it, so editing a view's window, filter,
 * grouping or measures starts it afresh instead of mixing old partials with new ones.
 */
export function viewVersion(view: ViewSpec): string {
  const text = JSON.stringify([view.where, view.groupBy, view.window, view.measures]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}
