import type { EddyConfig } from '../lambdas/core/config.ts';

/**
 * The default views: an online-auction stream shaped like the Nexmark benchmark's events
 * (person, auction, bid), with event time in `dateTime`.
 *
 * Point the local runtime at your own file with `npm start -- --config FILE` and the CDK app with
 * `cdk deploy -c config=FILE`; the file's default export has this shape.
 */
const config: EddyConfig = {
  eventTimeField: 'dateTime',
  watermark: { outOfOrderness: '4s', allowedLateness: '5s', idleTimeout: '30s' },
  views: [
    {
      name: 'bids_per_auction',
      where: { type: 'bid' },
      groupBy: ['auction'],
      window: { type: 'tumbling', size: '10s' },
      measures: [
        { fn: 'count' },
        { fn: 'sum', field: 'price' },
        { fn: 'min', field: 'price' },
        { fn: 'max', field: 'price' },
        { fn: 'avg', field: 'price' },
      ],
    },
    {
      name: 'new_people_by_state',
      where: { type: 'person' },
      groupBy: ['state'],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'count' }],
      // Reports a state whose sign-ups jump, drop or stop (GET /anomalies, alerts); see docs/anomalies.md.
      anomaly: { measure: 'count', method: 'robust' },
    },
    {
      name: 'hot_auctions',
      where: { type: 'bid' },
      groupBy: [],
      window: { type: 'sliding', size: '10s', slide: '2s' },
      measures: [{ fn: 'count' }, { fn: 'topk', field: 'auction', k: 10 }],
    },
    {
      name: 'highest_bid',
      where: { type: 'bid' },
      groupBy: [],
      window: { type: 'tumbling', size: '10s' },
      measures: [
        { fn: 'max', field: 'price' },
        { fn: 'maxBy', field: 'price', keep: ['auction', 'bidder'] },
      ],
    },
    {
      name: 'bid_stats_by_channel',
      where: { type: 'bid' },
      groupBy: ['channel'],
      window: { type: 'tumbling', size: '60s' },
      measures: [
        { fn: 'count' },
        { fn: 'distinct', field: 'bidder' },
        { fn: 'quantiles', field: 'price', q: [0.5, 0.9, 0.99] },
      ],
    },
    {
      name: 'bidder_sessions',
      where: { type: 'bid' },
      groupBy: ['bidder'],
      window: { type: 'session', gap: '10s' },
      measures: [{ fn: 'count' }, { fn: 'sum', field: 'price' }],
    },
  ],
};

export default config;
