/**
 * Eddy's own CloudWatch metrics: their namespace, names and dimensions, the one definition read by the
 * handlers that write them (lambdas/adapters/observability.ts) and the CDK app that graphs and alarms on them
 * (lib/eddy-alarms.ts, lib/eddy-operations-dashboard.ts).
 *
 * Plain data and pure functions, no AWS SDK, Powertools or CDK import.
 */

/** Namespace of every metric below. */
export const METRICS_NAMESPACE = 'Eddy';

/**
 * The service every function reports as (`POWERTOOLS_SERVICE_NAME`, set by lib/eddy-function.ts): Powertools
 * adds it to each metric as the `service` dimension, so one service's metrics are one set of time series.
 */
export const SERVICE_NAME = 'eddy';
export const SERVICE_DIMENSION = 'service';
/** Added, beside `service`, to the metrics that are counted per view. */
export const VIEW_DIMENSION = 'view';

export const PIPELINE_METRICS = {
  /** Events ingest wrote to the stream (ingest). */
  eventsAccepted: 'EventsAccepted',
  /** Events ingest refused, each with its index and reason in the response (ingest). */
  eventsRejected: 'EventsRejected',
  /** Valid events the aggregator read: aggregated, or late in some view (aggregate). */
  eventsProcessed: 'EventsProcessed',
  /** Events late in at least one view; also per view, with the `view` dimension (aggregate). */
  lateEvents: 'LateEvents',
  /** Events or records that could not be read, set aside with the reason in GET /dead-letters (aggregate). */
  deadLetteredEvents: 'DeadLetteredEvents',
  /** Events of records dropped as repeats of a request retried with the same Idempotency-Key (aggregate). */
  duplicateEvents: 'DuplicateEvents',
  /** Wall time minus the shard's watermark after a batch, in milliseconds (aggregate). */
  watermarkLag: 'WatermarkLag',
  /** Time the aggregator took for one batch, from the handler's start to its state written, in ms (aggregate). */
  batchDuration: 'BatchDuration',
  /** Final window results published, by batches and by the scheduled run (aggregate). */
  emittedWindows: 'EmittedWindows',
  /** Windows views' anomaly detectors reported, by batches and by the scheduled run (aggregate). */
  anomalies: 'Anomalies',
} as const;

export type PipelineMetricName = (typeof PIPELINE_METRICS)[keyof typeof PIPELINE_METRICS];

/** One value of one metric, as a handler reports it; `view` adds the view dimension. */
export interface MetricPoint {
  readonly name: PipelineMetricName;
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
  readonly view?: string;
}

/** One POST /events: its events accepted and rejected (the counters GET /status adds up). */
export function ingestMetrics(counts: { readonly accepted: number; readonly rejected: number }): MetricPoint[] {
  return [
    { name: PIPELINE_METRICS.eventsAccepted, unit: 'Count', value: counts.accepted },
    { name: PIPELINE_METRICS.eventsRejected, unit: 'Count', value: counts.rejected },
  ];
}
