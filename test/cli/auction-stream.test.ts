/** The event stream `eddy load` posts, and how `eddy send` reads its input. */
import { describe, expect, it } from 'vitest';
import { parseInput } from '../../cli/commands/send.ts';
import { AuctionStream, type AuctionStreamOptions } from '../../cli/load/auction-stream.ts';
import { UsageError } from '../../cli/options.ts';

const NOW = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS: AuctionStreamOptions = {
  seed: 42,
  keys: 10_000,
  outOfOrderMs: 0,
  lateFraction: 0,
  lateByMs: 80_000,
  eventTimeField: 'dateTime',
};

function take(options: Partial<AuctionStreamOptions>, n: number) {
  return new AuctionStream({ ...OPTIONS, ...options }).take(n, NOW);
}

describe('AuctionStream', () => {
  it('has persons, auctions and bids in the 2 / 6 / 92 proportions', () => {
    const events = take({}, 5_000);

    const kinds = { person: 0, auction: 0, bid: 0 };
    for (const e of events) kinds[e.kind]++;
    expect(kinds).toEqual({ person: 100, auction: 300, bid: 4_600 });
    expect(events.every((e) => e.event.type === e.kind)).toBe(true);
  });

  it('draws the same values for the same seed', () => {
    expect(take({ seed: 7 }, 200)).toEqual(take({ seed: 7 }, 200));
    expect(take({ seed: 7 }, 200)).not.toEqual(take({ seed: 8 }, 200));
  });

  it('puts 90% of bids on the 100 newest auctions and 75% by the 100 newest persons', () => {
    let newestAuction = 1_099; // a starting population of 100 auctions and 100 persons: ids 1000–1099
    let newestPerson = 1_099;
    let hotAuction = 0;
    let hotBidder = 0;
    let bids = 0;
    for (const { kind, event } of take({}, 20_000)) {
      if (kind === 'auction') newestAuction = event.id as number;
      else if (kind === 'person') newestPerson = event.id as number;
      else {
        bids++;
        if (newestAuction - (event.auction as number) < 100) hotAuction++;
        if (newestPerson - (event.bidder as number) < 100) hotBidder++;
      }
    }
    // Cold picks land among the hot ones too, now and then: the shares are at least the hot shares.
    expect(hotAuction / bids).toBeGreaterThan(0.9);
    expect(hotBidder / bids).toBeGreaterThan(0.75);
    expect(hotBidder / bids).toBeLessThan(0.85);
  });

  it('keeps auction and person ids among --keys values', () => {
    const events = take({ keys: 50 }, 5_000);

    const ids = events.flatMap((e) =>
      e.kind === 'bid'
        ? [e.event.auction, e.event.bidder]
        : e.kind === 'auction'
          ? [e.event.id, e.event.seller]
          : [e.event.id],
    ) as number[];
    expect(Math.min(...ids)).toBe(1_000);
    expect(Math.max(...ids)).toBe(1_049);
  });

  it('takes event times from the clock, trailing it by up to --out-of-order', () => {
    const times = take({ outOfOrderMs: 3_000 }, 2_000).map((e) => e.event.dateTime as number);

    expect(Math.max(...times)).toBeLessThanOrEqual(NOW);
    expect(Math.min(...times)).toBeGreaterThan(NOW - 3_000);
    expect(Math.min(...times)).toBeLessThan(NOW - 2_500);
  });

  it('gives about --late-fraction of the events a time lateByMs behind the clock', () => {
    const events = take({ lateFraction: 0.1 }, 10_000);

    const late = events.filter((e) => e.late);
    expect(late.length / events.length).toBeGreaterThan(0.08);
    expect(late.length / events.length).toBeLessThan(0.12);
    expect(late.every((e) => e.event.dateTime === NOW - 80_000)).toBe(true);
    expect(events.filter((e) => !e.late).every((e) => e.event.dateTime === NOW)).toBe(true);
  });
});

describe('eddy send input', () => {
  it('reads a JSON array as its events', () => {
    expect(parseInput('[{"a":1}, {"a":2}]', 'f')).toEqual({
      format: 'json',
      events: [
        { index: 0, json: '{"a":1}' },
        { index: 1, json: '{"a":2}' },
      ],
    });
  });

  it('reads one JSON object, even over several lines, as one event', () => {
    expect(parseInput('{\n  "a": 1\n}\n', 'f')).toEqual({ format: 'json', events: [{ index: 0, json: '{"a":1}' }] });
  });

  it('reads NDJSON line by line: blank lines are not events, lines are kept as written', () => {
    expect(parseInput('{"a":1}\r\n\n not json\n{"a":2}\n', 'f')).toEqual({
      format: 'ndjson',
      events: [
        { index: 0, line: 1, json: '{"a":1}' },
        { index: 1, line: 3, json: ' not json' },
        { index: 2, line: 4, json: '{"a":2}' },
      ],
    });
  });

  it('refuses an array that is not JSON, naming the file', () => {
    expect(() => parseInput('[{"a":1},', 'events.json')).toThrow(UsageError);
    expect(() => parseInput('[{"a":1},', 'events.json')).toThrow(/^events\.json is not valid JSON: /);
  });
});
