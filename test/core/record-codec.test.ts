import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeRecord, MAX_PACKED_BYTES, packEvents, recordOrigin } from '../../lambdas/core/record-codec.ts';

describe('record codec', () => {
  it('packs events into gzip NDJSON records that decode to the same events in order', () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ type: 'bid', auction: i % 7, price: i }));
    const packed = packEvents(events.map((e, index) => ({ index, json: JSON.stringify(e) })));
    expect(packed).toHaveLength(1);
    const decoded = decodeRecord(packed[0]!.data);
    expect(decoded.items.map((i) => ('value' in i ? i.value : i.error))).toEqual(events);
  });

  it('splits into several records past the packed size limit, keeping each event index', () => {
    const big = 'x'.repeat(100_000);
    const packed = packEvents(Array.from({ length: 12 }, (_, index) => ({ index, json: JSON.stringify({ big }) })));
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.flatMap((r) => r.indexes)).toEqual([...Array(12).keys()]);
    for (const r of packed) expect(r.indexes.length * 100_000).toBeLessThanOrEqual(MAX_PACKED_BYTES);
  });

  it('reads a plain JSON object written by another producer', () => {
    expect(decodeRecord(Buffer.from('{"a":1}')).items).toEqual([{ index: 0, value: { a: 1 } }]);
  });

  it('reads a JSON array of events', () => {
    expect(decodeRecord(Buffer.from('[{"a":1},{"a":2}]')).items).toEqual([
      { index: 0, value: { a: 1 } },
      { index: 1, value: { a: 2 } },
    ]);
  });

  it('names the bad line of an NDJSON record and keeps the good ones', () => {
    const items = decodeRecord(Buffer.from('{"a":1}\nnot json\n{"a":3}\n')).items;
    expect(items[0]).toEqual({ index: 0, value: { a: 1 } });
    expect(items[1]).toMatchObject({ index: 1, error: expect.stringMatching(/^line 2 is not JSON/) });
    expect(items[2]).toEqual({ index: 2, value: { a: 3 } });
  });

  it('reports a corrupt gzip record instead of throwing', () => {
    const data = gzipSync('{"a":1}\n').subarray(0, 12);
    expect(decodeRecord(data).error).toMatch(/gzip but cannot be inflated/);
  });

  it('reports an empty record', () => {
    expect(decodeRecord(Buffer.from('  ')).error).toBe('record is empty');
  });
});

describe('record origins', () => {
  it('tags each record of a keyed request with the key and its part, and reads the events without the tag', () => {
    const events = Array.from({ length: 3 }, (_, index) => ({ index, json: JSON.stringify({ n: index }) }));

    const [record] = packEvents(events, 'key-1');
    const decoded = decodeRecord(record!.data);

    expect(decoded.origin).toBe(recordOrigin('key-1', 0));
    expect(decoded.items).toEqual([0, 1, 2].map((n) => ({ index: n, value: { n } })));
  });

  it('reads a first line that only looks like a tag as an event', () => {
    const decoded = decodeRecord(Buffer.from('{"$eddy":{"origin":7}}\n{"n":1}\n'));

    expect(decoded.origin).toBeUndefined();
    expect(decoded.items).toHaveLength(2);
  });
});
