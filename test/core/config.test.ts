import { describe, expect, it } from 'vitest';
import defaults from '../../config/views.ts';
import { closestKey, normalizeConfig, parseDuration } from '../../lambdas/core/config.ts';

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

  it('keeps final windows 7 days unless retention says otherwise, and names a retention that is not a duration', () => {
    expect(normalizeConfig(view({})).views[0]!.retentionMs).toBe(7 * 86_400_000);
    expect(normalizeConfig(view({ retention: '36h' })).views[0]!.retentionMs).toBe(36 * 3_600_000);
    expect(() => normalizeConfig(view({ retention: 'forever' }))).toThrow(
      /view 'v'\.retention: "forever" is not a duration/,
    );
  });

  describe('anomaly', () => {
    const measures = [
      { fn: 'count' },
      { fn: 'avg', field: 'price' },
      { fn: 'quantiles', field: 'price', q: [0.5, 0.99] },
    ];
    const anomaly = (a: unknown, over: Record<string, unknown> = {}) =>
      normalizeConfig(view({ measures, anomaly: a, ...over })).views[0]!.anomaly;

    it('has no detector unless the view declares one', () => {
      expect(normalizeConfig(view({})).views[0]!.anomaly).toBeNull();
    });

    it('resolves a quantile measure to its result and key, and scores absent groups as 0 only for counting measures', () => {
      expect(anomaly({ measure: 'quantiles_price.0.99', method: 'robust' })).toMatchObject({
        result: 'quantiles_price',
        quantile: '0.99',
        zeroWhenAbsent: false,
        sensitivity: 'medium',
      });
      expect(anomaly({ measure: 'count', method: 'rcf' })).toMatchObject({ result: 'count', zeroWhenAbsent: true });
    });

    it('names a measure that is not a scalar result of the view, listing those that are', () => {
      expect(() => anomaly({ measure: 'sum_price', method: 'robust' })).toThrow(
        /view 'v'\.anomaly\.measure: "sum_price" is not a scalar result of the view; use one of count, avg_price, quantiles_price\.0\.5, quantiles_price\.0\.99/,
      );
    });

    it('names an unknown method and a bad sensitivity', () => {
      expect(() => anomaly({ measure: 'count', method: 'zscore' })).toThrow(
        /view 'v'\.anomaly\.method: "zscore" is not a method; use 'robust' or 'rcf'/,
      );
      expect(() => anomaly({ measure: 'count', method: 'robust', sensitivity: 3 })).toThrow(
        /view 'v'\.anomaly\.sensitivity: 3 must be 'low', 'medium' or 'high'/,
      );
    });

    it('takes shingle for rcf only, from 1 to 16', () => {
      expect(anomaly({ measure: 'count', method: 'rcf', shingle: 8 })!.shingle).toBe(8);
      expect(() => anomaly({ measure: 'count', method: 'robust', shingle: 8 })).toThrow(
        /anomaly\.shingle: applies to method 'rcf' only/,
      );
      expect(() => anomaly({ measure: 'count', method: 'rcf', shingle: 40 })).toThrow(
        /anomaly\.shingle: 40 must be an integer from 1 to 16/,
      );
    });

    it('turns a robust season into windows, refusing one that is not a whole number of windows', () => {
      expect(anomaly({ measure: 'count', method: 'robust', season: '1h' })!.seasonWindows).toBe(360);
      expect(() => anomaly({ measure: 'count', method: 'robust', season: '15s' })).toThrow(
        /anomaly\.season: "15s" must be a whole number of windows \(10000 ms each\), from 2 to 1440 of them/,
      );
    });

    it('refuses a detector on a session view', () => {
      expect(() =>
        anomaly({ measure: 'count', method: 'robust' }, { window: { type: 'session', gap: '10s' } }),
      ).toThrow(/view 'v'\.anomaly: session windows are not a regular series/);
    });

    it("refuses a group field named 'view' on a view with a detector (GET /anomalies takes view)", () => {
      expect(() => anomaly({ measure: 'count', method: 'robust' }, { groupBy: ['view'] })).toThrow(
        /view 'v'\.groupBy: 'view' is a query parameter of GET \/anomalies/,
      );
    });

    it('names a misspelt key of the detector', () => {
      expect(() => anomaly({ measure: 'count', method: 'robust', sensitivty: 'low' })).toThrow(
        /view 'v'\.anomaly: unknown key 'sensitivty'; did you mean 'sensitivity'\?/,
      );
    });
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
  describe('unknown keys', () => {
    it('names a misspelt view key and the known key it is closest to', () => {
      expect(() => normalizeConfig(view({ windw: { type: 'tumbling', size: '10s' } }))).toThrow(
        "view 'v': unknown key 'windw'; did you mean 'window'?",
      );
    });

    it('takes a key that differs only in case for a misspelling', () => {
      expect(() => normalizeConfig(view({ groupby: ['auction'] }))).toThrow(
        "view 'v': unknown key 'groupby'; did you mean 'groupBy'?",
      );
    });

    it('lists the known keys instead of a suggestion when none is close', () => {
      expect(() => normalizeConfig(view({ colour: 'red' }))).toThrow(
        "view 'v': unknown key 'colour'; the keys are name, where, groupBy, window, measures, emit, retention",
      );
    });

    it('names a view by its index when its name key is the misspelt one', () => {
      const { name: _name, ...unnamed } = view({}).views[0]!;
      expect(() => normalizeConfig({ views: [{ ...unnamed, nmae: 'v' }] })).toThrow(
        "views[0]: unknown key 'nmae'; did you mean 'name'?",
      );
    });

    it('refuses an unknown top-level key', () => {
      expect(() => normalizeConfig({ ...view({}), veiws: [] })).toThrow(
        "config: unknown key 'veiws'; did you mean 'views'?",
      );
    });

    it('refuses an unknown watermark key, whose default would otherwise apply silently', () => {
      expect(() => normalizeConfig({ ...view({}), watermark: { allowedLatness: '1m' } })).toThrow(
        "config.watermark: unknown key 'allowedLatness'; did you mean 'allowedLateness'?",
      );
    });

    it('refuses an unknown window key', () => {
      expect(() => normalizeConfig(view({ window: { type: 'session', gpa: '10s' } }))).toThrow(
        "view 'v'.window: unknown key 'gpa'; did you mean 'gap'?",
      );
    });

    it('says a key of another window type does not apply, rather than suggesting one', () => {
      expect(() => normalizeConfig(view({ window: { type: 'tumbling', size: '10s', slide: '2s' } }))).toThrow(
        "view 'v'.window: key 'slide' does not apply to a tumbling window; it takes type, size",
      );
    });

    it('refuses an unknown measure key, naming the measure by index', () => {
      expect(() =>
        normalizeConfig(view({ measures: [{ fn: 'count' }, { fn: 'topk', field: 'auction', kk: 5 }] })),
      ).toThrow("view 'v'.measures[1]: unknown key 'kk'; did you mean 'k'?");
    });

    it('says a key of another measure function does not apply', () => {
      expect(() => normalizeConfig(view({ measures: [{ fn: 'count', field: 'price' }] }))).toThrow(
        "view 'v'.measures[0]: key 'field' does not apply to measure 'count'; it takes fn",
      );
    });

    it('suggests only keys within a third of their length in edits, and never a whole replacement', () => {
      expect([
        closestKey('allowedLatness', ['outOfOrderness', 'allowedLateness', 'idleTimeout']),
        closestKey('mesaures', ['name', 'measures']),
        closestKey('grouping', ['groupBy']),
        closestKey('x', ['k', 'q']),
      ]).toEqual(['allowedLateness', 'measures', undefined, undefined]);
    });
  });
});
