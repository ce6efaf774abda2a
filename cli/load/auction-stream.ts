/**
 * A Nexmark-style online-auction stream at wall time, for `eddy load`: persons, auctions and bids in the
 * benchmark's 2% / 6% / 92% proportions (bench/nexmark.ts draws the same kinds at synthetic event times for
 * the in-process bench). Skewed as Nexmark is: most bids go to a few hot auctions, and most are made by a few
 * hot bidders. The values are the same for a seed on every run; event times come from the clock.
 */
import { mulberry32 } from '../../lambdas/core/random.ts';

export interface AuctionStreamOptions {
  readonly seed: number;
  /** Distinct auction ids and distinct person ids (the group keys of auction and bidder views). */
  readonly keys: number;
  /** Event times trail the clock by up to this much (uniformly): out-of-order delivery. */
  readonly outOfOrderMs: number;
  /** Share of events (0–1) given a time so old that their windows are final: late on purpose. */
  readonly lateFraction: number;
  /** How far behind the clock a late event is: beyond every view's window, out-of-orderness and lateness. */
  readonly lateByMs: number;
  /** The field that carries event time (GET /views `eventTimeField`). */
  readonly eventTimeField: string;
}

export type EventKind = 'person' | 'auction' | 'bid';

export interface StreamEvent {
  readonly kind: EventKind;
  readonly late: boolean;
  readonly event: Record<string, string | number>;
}

/** Nexmark's hot sets: bids to the newest auctions, bidders among the newest persons. */
const HOT_AUCTIONS = 100;
const HOT_AUCTION_SHARE = 0.9;
const HOT_BIDDERS = 100;
const HOT_BIDDER_SHARE = 0.75;
/** Ids start above 0, as Nexmark's do, so they read as ids. */
const FIRST_ID = 1_000;

const STATES = ['OR', 'ID', 'CA', 'WA', 'AZ', 'NV', 'UT', 'TX'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CATEGORIES = 5;

export class AuctionStream {
  private readonly random: () => number;
  private sequence = 0;
  /** Persons and auctions created so far, counting a starting population so that the first bids have some. */
  private persons: number;
  private auctions: number;

  constructor(private readonly options: AuctionStreamOptions) {
    this.random = mulberry32(options.seed);
    this.persons = Math.min(options.keys, HOT_BIDDERS);
    this.auctions = Math.min(options.keys, HOT_AUCTIONS);
  }

  /** The next `n` events, with event times taken from `nowMs`. */
  take(n: number, nowMs: number): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (let i = 0; i < n; i++) out.push(this.next(nowMs));
    return out;
  }

  private next(nowMs: number): StreamEvent {
    const { outOfOrderMs, lateFraction, lateByMs } = this.options;
    const late = lateFraction > 0 && this.random() < lateFraction;
    const dateTime = nowMs - Math.floor(this.random() * outOfOrderMs) - (late ? lateByMs : 0);
    // 1 person, 3 auctions and 46 bids in every 50 events: 2% / 6% / 92%.
    const slot = this.sequence++ % 50;
    const [kind, fields] =
      slot === 0 ? this.person() : slot <= 3 ? this.auction(dateTime) : (['bid', this.bid()] as const);
    return { kind, late, event: { type: kind, ...fields, [this.options.eventTimeField]: dateTime } };
  }

  /** An id among the `created` so far, which wrap around `keys`. */
  private id(created: number): number {
    return FIRST_ID + (created % this.options.keys);
  }

  /** One of the `hot` newest of `created`, or, otherwise, any of them. */
  private pick(created: number, hot: number, hotShare: number): number {
    const span = this.random() < hotShare ? Math.min(hot, created) : Math.min(created, this.options.keys);
    return this.id(created - 1 - Math.floor(this.random() * span));
  }

  private person(): ['person', Record<string, string | number>] {
    const id = this.id(this.persons++);
    return [
      'person',
      {
        id,
        name: `person ${id}`,
        emailAddress: `p${id}@example.com`,
        creditCard: '1234 5678 9012 3456',
        city: 'Portland',
        state: STATES[Math.floor(this.random() * STATES.length)]!,
      },
    ];
  }

  private auction(dateTime: number): ['auction', Record<string, string | number>] {
    const id = this.id(this.auctions++);
    return [
      'auction',
      {
        id,
        itemName: `item ${id}`,
        description: 'a thing',
        initialBid: 100,
        reserve: 200,
        expires: dateTime + 600_000,
        seller: this.pick(this.persons, HOT_BIDDERS, HOT_BIDDER_SHARE),
        category: 10 + Math.floor(this.random() * CATEGORIES),
      },
    ];
  }

  private bid(): Record<string, string | number> {
    const auction = this.pick(this.auctions, HOT_AUCTIONS, HOT_AUCTION_SHARE);
    return {
      auction,
      bidder: this.pick(this.persons, HOT_BIDDERS, HOT_BIDDER_SHARE),
      // Most bids are small, a few very large: the skew quantile views are for.
      price: 100 + Math.floor(this.random() ** 3 * 100_000),
      channel: CHANNELS[Math.floor(this.random() * CHANNELS.length)]!,
      url: `https://example.com/item/${auction}`,
    };
  }
}
