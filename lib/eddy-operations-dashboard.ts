import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PIPELINE_METRICS as M, type PipelineMetricName } from '../lambdas/adapters/pipeline-metrics.ts';
import type { EddyAlarms } from './eddy-alarms.ts';
import { eddyMetric } from './eddy-metrics.ts';

export interface EddyOperationsDashboardProps {
  /** The aggregate function: its iterator age says how far behind the stream it reads. */
  readonly aggregate: lambda.IFunction;
  /** The views' names: late events are graphed per view. */
  readonly views: readonly string[];
  /** Shown by state, and their thresholds drawn on the graphs they watch. */
  readonly alarms: EddyAlarms;
}

/** One point a minute: the EMF metrics arrive with every batch, and the alarms evaluate per minute too. */
const PERIOD = Duration.minutes(1);
const WIDTH = 24;

/**
 * A CloudWatch dashboard of the pipeline, read top to bottom: are the alarms quiet; is every event accounted
 * for (accepted = processed + dead-lettered, late counted apart, as GET /status adds them up); how far behind
 * are the results (watermark lag, iterator age); what does each batch cost (duration, windows emitted).
 *
 * Named after the stack (`<stack>-operations`), printed as the `OperationsDashboardUrl` output.
 */
export class EddyOperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: EddyOperationsDashboardProps) {
    super(scope, id);
    const { alarms } = props;
    const stack = Stack.of(this);
    const sum = (name: PipelineMetricName, view?: string) =>
      eddyMetric(name, { statistic: cloudwatch.Stats.SUM, period: PERIOD, view });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-operations`,
      defaultInterval: Duration.hours(3),
    });

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms (each publishes to the alerts topic)',
        alarms: [
          alarms.iteratorAge,
          alarms.watermarkLag,
          alarms.aggregateErrors,
          alarms.deadLetters,
          alarms.deadLetteredEvents,
        ],
        width: WIDTH,
        height: 3,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Events per minute: ingest and aggregate',
        left: [sum(M.eventsAccepted), sum(M.eventsRejected), sum(M.eventsProcessed)],
        width: WIDTH / 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events in no window result: late, dead-lettered, dropped repeats',
        left: [sum(M.lateEvents), sum(M.deadLetteredEvents), sum(M.duplicateEvents)],
        width: WIDTH / 2,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'How far behind: watermark lag and aggregator iterator age (ms, maximum)',
        left: [
          eddyMetric(M.watermarkLag, { statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD }),
          props.aggregate.metric('IteratorAge', {
            statistic: cloudwatch.Stats.MAXIMUM,
            period: PERIOD,
            label: 'IteratorAge',
          }),
        ],
        leftAnnotations: [alarms.watermarkLag.toAnnotation(), alarms.iteratorAge.toAnnotation()],
        width: WIDTH / 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Late events per view',
        left: props.views.map((view) => sum(M.lateEvents, view)),
        width: WIDTH / 2,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Batch duration (ms)',
        left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM].map((statistic) =>
          eddyMetric(M.batchDuration, { statistic, period: PERIOD, label: `BatchDuration ${statistic}` }),
        ),
        width: WIDTH / 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Windows emitted (final results published)',
        left: [sum(M.emittedWindows)],
        width: WIDTH / 2,
      }),
      new cloudwatch.GraphWidget({
        title: 'Anomalies reported by the views’ detectors',
        left: [sum(M.anomalies)],
        width: WIDTH / 2,
      }),
    );

    const url = new CfnOutput(this, 'Url', {
      value: `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards:name=${this.dashboard.dashboardName}`,
      description: 'CloudWatch dashboard of the pipeline: events, lateness, lag, batches, alarms',
    });
    url.overrideLogicalId('OperationsDashboardUrl');
  }
}
