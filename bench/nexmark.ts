import { mulberry32 } from '../lambdas/core/random.ts';

export { mulberry32 };

/**
 * A Nexmark-like event generator: people, auctions and bids in the benchmark's 1:3:46 proportions, with
 * bids concentrated on recent auctions (the "hot auctions" skew of the benchmark). Deterministic per seed.
 */
export interface NexmarkOptions {
  readonly seed?: number;
  /** Event time of the first event (epoch ms). */
  readonly startMs: number;
  /** Events per second of event time. */
  readonly eventsPerSecond: number;
  /** Largest amount an event may trail the newest event time (out-of-order delivery). @default 0 */
  readonly maxDelayMs?: number;
  /** Distinct bidders, drawn uniformly: the group cardinality of a view grouped by bidder. @default 5000 */
  readonly bidders?: number;
}

export type NexmarkEvent = Record<string, string | number>;

const STATES = ['OR', 'ID', 'CA', 'WA', 'AZ', 'NV', 'UT', 'TX'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];

export function* nexmarkEvents(options: NexmarkOptions): Generator<NexmarkEvent> {
  const random = mulberry32(options.seed ?? 42);
  const delay = options.maxDelayMs ?? 0;
  const bidders = options.bidders ?? 5000;
  let people = 1000;
  let auctions = 1000;
  for (let i = 0; ; i++) {
    const newest = options.startMs + Math.floor((i * 1000) / options.eventsPerSecond);
    const dateTime = newest - Math.floor(random() * delay);
    const kind = i % 50;
    if (kind === 0) {
      people++;
      yield {
        type: 'person',
        id: people,
        name: `person ${people}`,
        emailAddress: `p${people}@example.com`,
        creditCard: '1234 5678 9012 3456',
        city: 'Portland',
        state: STATES[Math.floor(random() * STATES.length)]!,
        dateTime,
      };
    } else if (kind <= 3) {
      auctions++;
      yield {
        type: 'auction',
        id: auctions,
        itemName: `item ${auctions}`,
        description: 'a thing',
        initialBid: 100,
        reserve: 200,
        expires: dateTime + 600_000,
        seller: 1000 + Math.floor(random() * (people - 1000 + 1)),
        category: 10 + Math.floor(random() * 5),
        dateTime,
      };
    } else {
      // 90% of bids go to the 100 newest auctions.
      const hot = random() < 0.9;
      const auction = hot ? auctions - Math.floor(random() * 100) : 1000 + Math.floor(random() * (auctions - 1000 + 1));
      yield {
        type: 'bid',
        auction,
        bidder: 1000 + Math.floor(random() * bidders),
        price: 100 + Math.floor(random() ** 3 * 100_000),
        channel: CHANNELS[Math.floor(random() * CHANNELS.length)]!,
        url: `https://example.com/item/${auction}`,
        dateTime,
      };
    }
  }
}

export function take<T>(gen: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = gen.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}
