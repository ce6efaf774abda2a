import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchAggregator, type BatchRecord } from '../../lambdas/core/batch-aggregator.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { groupKeyOf } from '../../lambdas/core/group.ts';

/** Any UTF-16 code unit: quotes, backslashes, control characters, lone and paired surrogates. */
const codeUnit = fc.nat(0xffff).map((c) => String.fromCharCode(c));
const groupValue = fc.oneof(
  fc.constant(null),
  fc.string(),
  fc.string({ unit: codeUnit }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', '😀'),
);

describe('groupKeyOf', () => {
  it('is JSON.stringify of the values, byte for byte (stored keys depend on it)', () => {
    fc.assert(
      fc.property(fc.array(groupValue, { maxLength: 4 }), (values) => {
        expect(groupKeyOf(values)).toBe(JSON.stringify(values));
      }),
      { numRuns: 2000 },
    );
  });
});

const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const byUser = normalizeConfig({
  views: [
    { name: 'by_user', groupBy: ['user'], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] },
  ],
});
const record = (...users: unknown[]): BatchRecord => ({
  seq: '1'.padStart(64, '0'),
  arrivalMs: T + 60_000,
  items: users.map((user, index) => ({ index, value: user === undefined ? { dateTime: T } : { dateTime: T, user } })),
});
const counts = (records: BatchRecord[]) =>
  Object.fromEntries(
    [
      ...new BatchAggregator(byUser).aggregate(records, { maxEventTime: null, watermarkFloor: null }).panes.values(),
    ].map((p) => [p.groupKey, p.count]),
  );

describe('BatchAggregator groups', () => {
  it('puts a number and its string in one group, whichever comes first', () => {
    expect(counts([record(5003, '5003', 5003, 1.5, '1.5')])).toEqual({ '["5003"]': 3, '["1.5"]': 2 });
    expect(counts([record('5003', 5003)])).toEqual({ '["5003"]': 2 });
  });

  it('puts 0 and -0 in the group "0", as String does', () => {
    expect(counts([record(0, -0, '0')])).toEqual({ '["0"]': 3 });
  });

  it('keeps the null group (missing or null) apart from the string "null"', () => {
    expect(counts([record(null, undefined, 'null')])).toEqual({ '[null]': 2, '["null"]': 1 });
  });

  it('groups objects by their JSON, with the string of that JSON', () => {
    expect(counts([record({ a: 1 }, '{"a":1}', true, 'true')])).toEqual({ '["{\\"a\\":1}"]': 2, '["true"]': 2 });
  });
});
