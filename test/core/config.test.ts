import { describe, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import { normalizeConfig, parseDuration } from '../../lambdas/core/config.ts';

const view = (over: Record<string, unknown>) => ({
  views: [{ name: 'v', groupBy: [], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }], ...over }],
});

describe('views config', () => {
  it('accepts the default config and names measure results count and <fn>_<field>', () => {
    const cfg = normalizeConfig(defaults);
    const bids = cfg.views.find((v) => v.name === 'bids_per_auction')!;
    expect(bids.measures.map((m) => m.name)).toEqual(['count', 'sum_price', 'min_price', 'max_price', 'avg_price']);
    expect(cfg.outOfOrdernessMs).toBe(4_000);
    expect(cfg.allowedLatenessMs).toBe(5_000);
  });

  it('parses durations in ms, s, m, h, d', () => {
    expect([
      parseDuration('250ms', 'x'),
      parseDuration('10s', 'x'),
      parseDuration('5m', 'x'),
      parseDuration(42, 'x'),
    ]).toEqual([250, 10_000, 300_000, 42]);
  });

  it('names the view, the field and the bad value of a window size', () => {
    expect(() => normalizeConfig(view({ window: { type: 'tumbling', size: '10 seconds' } }))).toThrow(
      /view 'v'\.window\.size: "10 seconds" is not a duration/,
    );
  });

  it('rejects an unknown window type, listing the accepted ones', () => {
    expect(() => normalizeConfig(view({ window: { type: 'hopping', size: '1s' } }))).toThrow(
      /view 'v'\.window\.type: "hopping" is not a window type; use 'tumbling', 'sliding' or 'session'/,
    );
  });

  it('stores sliding windows as gcd(size, slide) panes', () => {
    const cfg = normalizeConfig(view({ window: { type: 'sliding', size: '10s', slide: '4s' } }));
    expect(cfg.views[0]!.window).toEqual({ type: 'sliding', sizeMs: 10_000, slideMs: 4_000, paneMs: 2_000 });
  });

  it('rejects a slide larger than the size', () => {
    expect(() => normalizeConfig(view({ window: { type: 'sliding', size: '10s', slide: '20s' } }))).toThrow(
      /view 'v'\.window\.slide: slide 20000 ms is larger than size 10000 ms/,
    );
  });

  it('rejects sizes that compose into too many panes', () => {
    expect(() => normalizeConfig(view({ window: { type: 'sliding', size: '1h', slide: 7 } }))).toThrow(
      /panes .* per window/,
    );
  });

  it('names a bad measure by index', () => {
    expect(() => normalizeConfig(view({ measures: [{ fn: 'count' }, { fn: 'median', field: 'x' }] }))).toThrow(
      /view 'v'\.measures\[1\]\.fn: "median" is not a measure function/,
    );
  });

  it('publishes results unless emit is false, and names a non-boolean emit', () => {
    expect(normalizeConfig(view({})).views[0]!.emit).toBe(true);
    expect(normalizeConfig(view({ emit: false })).views[0]!.emit).toBe(false);
    expect(() => normalizeConfig(view({ emit: 'no' }))).toThrow(/view 'v'\.emit: "no" must be true or false/);
  });

  it('rejects a view name that is not a lower-case identifier', () => {
    expect(() => normalizeConfig(view({ name: 'Bids-Per' }))).toThrow(/views\[0\]\.name: "Bids-Per" must match/);
  });

  it('rejects two views with one name', () => {
    const v = view({}).views[0]!;
    expect(() => normalizeConfig({ views: [v, v] })).toThrow(/view 'v': the name is used by two views/);
  });

  it('rejects a group field that collides with a query parameter', () => {
    expect(() => normalizeConfig(view({ groupBy: ['from'] }))).toThrow(/'from' is a query parameter/);
  });
});
