import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  METRICS_NAMESPACE,
  type PipelineMetricName,
  SERVICE_DIMENSION,
  SERVICE_NAME,
  VIEW_DIMENSION,
} from '../lambdas/adapters/pipeline-metrics.ts';

export interface EddyMetricOptions {
  /** How the period's values are combined: `cloudwatch.Stats.SUM` for counts, a percentile or maximum for times. */
  readonly statistic: string;
  readonly period: Duration;
  /** The view's own time series (LateEvents), instead of the total over every view. */
  readonly view?: string;
  /**
   * The series' name on graphs. Leave it out for a metric an alarm watches: with a label, CloudFormation gets
   * the alarm's metric as a query (`Metrics`) instead of by name and dimensions.
   * @default the view's name when `view` is given, else none (graphs show the metric name)
   */
  readonly label?: string;
}

/**
 * One of the metrics the handlers write as EMF (lambdas/adapters/pipeline-metrics.ts), with the dimensions
 * they write it with: `service` (always), and `view` for the per-view series.
 */
export function eddyMetric(name: PipelineMetricName, options: EddyMetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: {
      [SERVICE_DIMENSION]: SERVICE_NAME,
      ...(options.view === undefined ? {} : { [VIEW_DIMENSION]: options.view }),
    },
    statistic: options.statistic,
    period: options.period,
    label: options.label ?? options.view,
  });
}
