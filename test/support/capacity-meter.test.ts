import { createRequire } from 'node:module';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { CapacityMeter, type Item, itemKey, itemSize, writeUnits } from './capacity-meter.ts';

/** dynalite's own size and capacity rules (it bills as DynamoDB does; it takes binary values as base64). */
const dynalite = createRequire(import.meta.url)('dynalite/db/index.js') as {
  itemSize(item: unknown): number;
  capacityUnits(item: unknown, isRead: boolean, isConsistent: boolean): number;
};

/** An SDK item as dynalite receives it over the wire: binary values in base64. */
function wire(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(wire) };
  if (value.M !== undefined) return { M: wireItem(value.M) };
  return value;
}
const wireItem = (item: Item): unknown => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, wire(v)]));

const N = (n: string): AttributeValue => ({ N: n });
const S = (s: string): AttributeValue => ({ S: s });

const ITEMS: ReadonlyArray<readonly [string, Item]> = [
  ['keys only', { pk: S('shard'), sk: S('shardId-000000000000') }],
  ['empty string', { pk: S('p'), sk: S('') }],
  [
    'numbers of every shape',
    {
      pk: S('n'),
      zero: N('0'),
      negZero: N('-0'),
      one: N('1'),
      ten: N('10'),
      hundred: N('100'),
      odd: N('123'),
      even: N('1234'),
      time: N('1795000000000'),
      neg: N('-42'),
      frac: N('0.05'),
      frac2: N('12.5'),
      padded: N('000120.0100'),
      exp: N('1.5E+3'),
      tiny: N('1e-130'),
      big: N('9'.repeat(38)),
    },
  ],
  ['binary', { pk: S('b'), blob: { B: new Uint8Array([0, 1, 2, 255]) }, empty: { B: new Uint8Array(0) } }],
  ['booleans and null', { pk: S('x'), t: { BOOL: true }, f: { BOOL: false }, nil: { NULL: true } }],
  [
    'sets',
    {
      pk: S('sets'),
      ss: { SS: ['a', 'bc', 'def'] },
      ns: { NS: ['1', '22', '-333', '4.5'] },
      bs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
    },
  ],
  ['empty list and map', { pk: S('e'), l: { L: [] }, m: { M: {} } }],
  [
    'nested lists and maps',
    {
      pk: S('nest'),
      l: { L: [S('a'), N('12'), { BOOL: true }, { L: [N('1'), { M: { k: S('v') } }] }] },
      m: { M: { count: N('3'), names: { L: [S('x'), S('yz')] }, inner: { M: { deep: { NULL: true } } } } },
    },
  ],
  [
    'a pane as the adapter writes it',
    {
      pk: S('pane|bids_per_auction@1|[1234]'),
      sk: S('000001795000000|shardId-000000000000'),
      view: S('bids_per_auction@1'),
      gk: S('[1234]'),
      g: S('[1234]'),
      ps: N('1795000000000'),
      sh: S('shardId-000000000000'),
      seq: S('49650000000000000000000000000000000000000000000000000001'),
      n: N('17'),
      t0: N('1795000000001'),
      t1: N('1795000009999'),
      m: S(JSON.stringify({ count: 17, max_price: 99_123 })),
      u: N('1795000012345'),
    },
  ],
  ['over 1 KB', { pk: S('big'), body: S('x'.repeat(3000)) }],
  ['over 4 KB', { pk: S('bigger'), body: S('y'.repeat(9000)), n: N('7') }],
];

describe('itemSize', () => {
  it.each(ITEMS)('%s: as dynalite sizes it', (_, item) => {
    expect(itemSize(item)).toBe(dynalite.itemSize(wireItem(item)));
  });

  it('counts UTF-8 bytes of names and strings, as DynamoDB does (dynalite counts UTF-16 code units)', () => {
    // 'é' is 2 bytes, '€' 3, '😀' 4 (two code units).
    expect(itemSize({ é: S('€😀') })).toBe(2 + 3 + 4);
  });

  it('rejects what is not a number, naming it', () => {
    expect(() => itemSize({ n: N('12abc') })).toThrow('"12abc"');
  });
});

describe('CapacityMeter', () => {
  it.each(ITEMS)('%s: a write is billed as dynalite bills it', (_, item) => {
    const meter = new CapacityMeter();
    meter.write('k', item);
    expect(meter.totals().wcu).toBe(dynalite.capacityUnits(wireItem(item), false, true));
  });

  it.each(ITEMS)('%s: a read of one item is billed as dynalite bills it, consistent or not', (_, item) => {
    for (const consistent of [true, false]) {
      const meter = new CapacityMeter();
      meter.read('k', [item], { consistent, op: 'get' });
      expect(meter.totals().rcu).toBe(dynalite.capacityUnits(wireItem(item), true, consistent));
    }
  });

  it('bills a replacing write on the larger of the old and new item', () => {
    const small = { pk: S('a'), body: S('x'.repeat(100)) };
    const large = { pk: S('a'), body: S('x'.repeat(2100)) };
    expect(writeUnits(small, large)).toBe(3);
    expect(writeUnits(large, small)).toBe(3);
  });

  it('bills a failed conditional write on the existing item alone, at least one unit', () => {
    const meter = new CapacityMeter();
    const existing = { pk: S('a'), body: S('x'.repeat(1500)) };
    meter.write('pane', { pk: S('a'), body: S('x'.repeat(5000)) }, existing, { conditionFailed: true });
    meter.write('pane', { pk: S('b'), body: S('x'.repeat(5000)) }, undefined, { conditionFailed: true });
    expect(meter.totals().byKind.pane).toEqual({ wcu: 2 + 1, rcu: 0, writes: 2, reads: 0 });
  });

  it('bills a delete on the deleted item, and a delete of nothing one unit', () => {
    const meter = new CapacityMeter();
    meter.write('open', undefined, { pk: S('a'), body: S('x'.repeat(2000)) });
    meter.write('open', undefined);
    expect(meter.totals().wcu).toBe(2 + 1);
  });

  it('bills a Query page on its total size, rounded up once; an empty one the minimum', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('a'), body: S('x'.repeat(1000)) }; // 1,006 bytes
    meter.read('q', [item, item, item], { consistent: true, op: 'query' });
    meter.read('q', [], { consistent: false, op: 'query' });
    expect(meter.totals().rcu).toBe(1 + 0.5);
    expect(meter.totals().readRequests).toBe(2);
  });

  it('bills a BatchGetItem item by item, a key without an item the minimum', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('a'), body: S('x'.repeat(1000)) };
    meter.read('panes', [item, item, undefined], { consistent: true, op: 'get' });
    expect(meter.totals().rcu).toBe(3);
    expect(meter.totals().readRequests).toBe(1);
  });

  it('pages a Query at 1 MB, each page a request', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('a'), body: S('x'.repeat(100_000)) };
    expect(
      meter.query(
        'q',
        Array.from({ length: 25 }, () => item),
        { consistent: true },
      ),
    ).toBe(3);
    expect(meter.totals().readRequests).toBe(3);
    expect(meter.query('q', [], { consistent: true })).toBe(1);
  });

  it('keeps the bytes of live items, with 100 bytes of overhead each', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('a'), sk: S('b') }; // 6 bytes
    meter.store('a|b', item);
    meter.store('a|c', item);
    meter.store('a|b', { ...item, n: N('1') }); // 9 bytes
    meter.store('a|c', undefined);
    expect(meter.totals()).toMatchObject({ storedBytes: 109, items: 1 });
  });

  it('put bills against what the table holds under the item key, and keeps it unless the condition failed', () => {
    const meter = new CapacityMeter();
    const large = { pk: S('p'), sk: S('1'), body: S('x'.repeat(2000)) };
    meter.put('pane', large);
    meter.put('pane', { pk: S('p'), sk: S('1') }); // smaller, billed on the 2 KB it replaces
    meter.put('pane', large, { conditionFailed: true }); // billed on the small item there, which stays
    expect(meter.totals()).toMatchObject({ wcu: 2 + 2 + 1, writeRequests: 3, storedBytes: 6 + 100, items: 1 });
  });

  it('delete bills the item under the key and forgets it', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('p'), sk: S('1'), body: S('x'.repeat(2000)) };
    meter.put('open', item);
    meter.delete('open', itemKey(item));
    meter.delete('open', itemKey(item));
    expect(meter.totals()).toMatchObject({ wcu: 2 + 2 + 1, storedBytes: 0, items: 0 });
  });

  it('reads by key bill the items the table holds there', () => {
    const meter = new CapacityMeter();
    const item = { pk: S('p'), sk: S('1'), body: S('x'.repeat(5000)) };
    meter.put('pane', item);
    meter.readKeys('pane', [itemKey(item), 'p|missing'], { consistent: true, op: 'get' });
    meter.queryKeys('pane', [itemKey(item), itemKey(item)], { consistent: false });
    expect(meter.totals().rcu).toBe(2 + 1 + 1.5);
  });

  it('reset forgets the requests, not what the table holds', () => {
    const meter = new CapacityMeter();
    meter.write('k', { pk: S('a') });
    meter.store('a', { pk: S('a') });
    meter.reset();
    expect(meter.totals()).toEqual({
      wcu: 0,
      rcu: 0,
      writeRequests: 0,
      readRequests: 0,
      storedBytes: 103,
      items: 1,
      byKind: {},
    });
  });
});
