/** KPL-aggregated records, built here byte by byte as the Kinesis Producer Library writes them. */
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../lambdas/core/record-codec.ts';
import { kplRecord } from '../support/kpl.ts';

describe('KPL-aggregated records', () => {
  it('reads every user record as one event, in order', () => {
    const events = [{ type: 'bid', price: 1 }, { type: 'bid', price: 2, pad: 'x'.repeat(300) }, { type: 'person' }];
    const decoded = decodeRecord(kplRecord(events.map((e) => JSON.stringify(e))));
    expect(decoded.error).toBeUndefined();
    expect(decoded.items).toEqual(events.map((value, index) => ({ index, value })));
  });

  it('names a user record that is not JSON and keeps the others', () => {
    const decoded = decodeRecord(kplRecord(['{"a":1}', 'oops']));
    expect(decoded.items[0]).toEqual({ index: 0, value: { a: 1 } });
    expect(decoded.items[1]).toMatchObject({
      index: 1,
      error: expect.stringMatching(/^KPL user record 1 is not JSON/),
    });
  });

  it('sets aside an aggregated record whose checksum is wrong', () => {
    expect(decodeRecord(kplRecord(['{"a":1}'], true)).error).toBe(
      'record is KPL-aggregated but cannot be read: KPL aggregated record has a wrong MD5 checksum',
    );
  });
});
