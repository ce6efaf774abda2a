import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Aggregator iterator age, in milliseconds, above which results are considered late. With a 1 s batching
 * window and one poll per shard per second, a healthy aggregator stays a few seconds behind the stream tip.
 * A full minute, sustained, means it is falling behind (or retrying a failing batch): the watermark stalls,
 * windows stop turning final, and records move towards the 1-day max record age where they would be
 * dead-lettered. Alarm long before that.
 */
export const ITERATOR_AGE_THRESHOLD_MS = 60_000;

/** Minutes the iterator age must stay above the threshold: one slow batch or a cold start is not an incident. */
export const ITERATOR_AGE_MINUTES = 5;

export interface EddyAlarmsProps {
  readonly aggregate: lambda.IFunction;
  readonly onFailureQueue: sqs.IQueue;
}

/** Three alarms that mean "results are late or incomplete"; each is actionable on its own. */
export class EddyAlarms extends Construct {
  readonly iteratorAge: cloudwatch.Alarm;
  readonly aggregateErrors: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EddyAlarmsProps) {
    super(scope, id);

    this.iteratorAge = props.aggregate
      .metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) })
      .createAlarm(this, 'AggregateIteratorAge', {
        alarmDescription: `Aggregator more than ${ITERATOR_AGE_THRESHOLD_MS / 1000} s behind the stream for ${ITERATOR_AGE_MINUTES} minutes: results are late`,
        threshold: ITERATOR_AGE_THRESHOLD_MS,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: ITERATOR_AGE_MINUTES,
        // No records, no metric: an idle stream is healthy.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    // Every error is a failed batch that Lambda retries (and bisects); a shard makes no progress meanwhile.
    this.aggregateErrors = props.aggregate
      .metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) })
      .createAlarm(this, 'AggregateErrors', {
        alarmDescription: 'The aggregator failed at least one batch in the last 5 minutes',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    // A message sent here is a batch the aggregator gave up on: its events are in no result until redriven.
    // Sent, not visible: the on-failure function consumes the queue within seconds (recording each batch,
    // GET /failed-batches), so the visible count stays at 0.
    this.deadLetters = props.onFailureQueue
      .metricNumberOfMessagesSent({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) })
      .createAlarm(this, 'OnFailureMessages', {
        alarmDescription:
          'Batches were given up on (on-failure queue): their events are missing from results until npm run redrive; see GET /failed-batches',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
