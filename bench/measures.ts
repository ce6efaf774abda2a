import { pathToFileURL } from 'node:url';
import type { MeasureSpec } from '../lambdas/core/config.ts';
import { type Accumulator, createMeasure, type Event } from '../lambdas/core/measures/index.ts';
import { mulberry32 } from './nexmark.ts';

/** Each timing repeats its work for at least this long, after one warm-up round. */
const MIN_MS = 300;
const N = 100_000;

/**
 * 10^5 bids shaped like the Nexmark ones: log-normal integer prices (1 in 10 is 0), auctions skewed
 * (a few hot ones over 10^4), bidders uniform over 10^6 (≈ 95,000 distinct), plus `shop` with 1,000 values.
 */
function bids(): Event[] {
  const random = mulberry32(42);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: N }, () => ({
    price: random() < 0.1 ? 0 : Math.round(Math.exp(6 + gaussian())),
    auction: 5000 + Math.floor(10_000 * random() ** 3),
    bidder: 1_000_000 + Math.floor(1_000_000 * random()),
    shop: `shop-${Math.floor(1000 * random())}`,
  }));
}

const CASES: { label: string; spec: MeasureSpec }[] = [
  { label: 'count', spec: { fn: 'count', name: 'count' } },
  { label: 'sum(price)', spec: { fn: 'sum', field: 'price', name: 'sum_price' } },
  { label: 'max(price)', spec: { fn: 'max', field: 'price', name: 'max_price' } },
  { label: 'distinct(shop), 1,000 values', spec: { fn: 'distinct', field: 'shop', name: 'distinct_shop' } },
  { label: 'distinct(bidder), 95,000 values', spec: { fn: 'distinct', field: 'bidder', name: 'distinct_bidder' } },
  {
    label: 'quantiles(price, 0.5 0.9 0.99)',
    spec: { fn: 'quantiles', field: 'price', q: [0.5, 0.9, 0.99], name: 'quantiles_price' },
  },
  { label: 'topk(auction, 10)', spec: { fn: 'topk', field: 'auction', k: 10, name: 'topk_auction' } },
  { label: 'topk(auction, 100)', spec: { fn: 'topk', field: 'auction', k: 100, name: 'topk_auction' } },
  {
    label: 'maxBy(price; auction, bidder)',
    spec: { fn: 'maxBy', field: 'price', keep: ['auction', 'bidder'], name: 'maxBy_price' },
  },
];

/** Operations per second of `op`, which does `ops` operations per call. */
function rate(ops: number, op: () => void): number {
  op();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    op();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return (calls * ops * 1000) / elapsed;
}

function fold(spec: MeasureSpec, events: readonly Event[]): Accumulator {
  const acc = createMeasure(spec).create();
  for (const e of events) acc.add(e);
  return acc;
}

function human(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(0);
}

/**
 * Prints, for each measure over 10^5 events on one core: events added per second, merges per second of two
 * such partials, loads and stores per second (JSON text → decode → encode → JSON text, what every batch does
 * to every item), and the JSON bytes of the partial.
 */
export async function benchMeasures(): Promise<void> {
  const events = bids();
  const half = events.slice(0, N / 2);
  const otherHalf = events.slice(N / 2);
  const rows = [['measure', 'inserts/s', 'merges/s', 'load+store/s', 'bytes (10^5 values)']];
  for (const { label, spec } of CASES) {
    const measure = createMeasure(spec);
    const inserts = rate(N, () => fold(spec, events));
    // Each merge combines two fresh partials of 5·10^4 events, decoded from their stored form as reads do.
    const a = JSON.stringify(fold(spec, half).encode());
    const b = JSON.stringify(fold(spec, otherHalf).encode());
    const pairs = Array.from({ length: 64 }, () => [measure.decode(JSON.parse(a)), measure.decode(JSON.parse(b))]);
    let next = 0;
    const merges = rate(1, () => {
      const [x, y] = pairs[next++ % pairs.length]!;
      x!.merge(y!);
    });
    const full = fold(spec, events);
    const stored = JSON.stringify(full.encode());
    const roundTrips = rate(1, () => {
      JSON.stringify(measure.decode(JSON.parse(stored)).encode());
    });
    rows.push([label, human(inserts), human(merges), human(roundTrips), String(Buffer.byteLength(stored))]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      `| ${row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join(' | ')} |`,
    );
    if (i === 0)
      console.log(`|${widths.map((w, j) => (j === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchMeasures();
