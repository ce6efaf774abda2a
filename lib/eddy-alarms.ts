import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PIPELINE_METRICS } from '../lambdas/adapters/pipeline-metrics.ts';
import { eddyMetric } from './eddy-metrics.ts';

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

/**
 * Watermark lag (wall time minus a shard's watermark after a batch, the WatermarkLag metric), in milliseconds,
 * above which windows turn final late. A window is final once the watermark passes its end plus the allowed
 * lateness, and a shard's watermark trails its newest event by the out-of-orderness, so a healthy lag is the
 * out-of-orderness plus a few seconds of delivery (producer, stream, 1 s batching window). The alarm allows
 * the same minute as the iterator age on top: above it, either the aggregator is behind (the iterator-age
 * alarm fires too) or the events themselves arrive a minute or more after their event time (producers
 * buffering, clocks off, a backfill), and every result of the pipeline is that much later than its window.
 * The maximum over shards is what matters: the pipeline watermark is the minimum over active shards.
 */
export function watermarkLagThresholdMs(outOfOrdernessMs: number): number {
  return ITERATOR_AGE_THRESHOLD_MS + outOfOrdernessMs;
}

/** Minutes the watermark lag must stay above its threshold, as for the iterator age. */
export const WATERMARK_LAG_MINUTES = 5;

export interface EddyAlarmsProps {
  readonly aggregate: lambda.IFunction;
  readonly onFailureQueue: sqs.IQueue;
  /** Every alarm's ALARM and OK transitions are published here. */
  readonly alertsTopic: sns.ITopic;
  /** The views config's out-of-orderness, in milliseconds: the part of the watermark lag that is by design. */
  readonly outOfOrdernessMs: number;
}

/**
 * Alarms that mean "results are late or incomplete"; each is actionable on its own, and each publishes its
 * ALARM and OK transitions to the alerts topic.
 */
export class EddyAlarms extends Construct {
  readonly iteratorAge: cloudwatch.Alarm;
  readonly aggregateErrors: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  readonly watermarkLag: cloudwatch.Alarm;
  readonly deadLetteredEvents: cloudwatch.Alarm;

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

    const lagThresholdMs = watermarkLagThresholdMs(props.outOfOrdernessMs);
    this.watermarkLag = eddyMetric(PIPELINE_METRICS.watermarkLag, {
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    }).createAlarm(this, 'WatermarkLag', {
      alarmDescription: `Watermark more than ${lagThresholdMs / 1000} s behind wall time for ${WATERMARK_LAG_MINUTES} minutes: windows turn final that much late`,
      threshold: lagThresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: WATERMARK_LAG_MINUTES,
      // The metric comes with batches: no events, no batches, nothing late.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Any dead-lettered event: it is in no result, only in GET /dead-letters. Ingest refuses by index what
    // the aggregator would set aside, so one here was written to the stream around the API (another producer,
    // an unreadable record) or passed one check and failed the other: each case needs a person, and a count
    // above 0 is not noise to be tuned away.
    this.deadLetteredEvents = eddyMetric(PIPELINE_METRICS.deadLetteredEvents, {
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    }).createAlarm(this, 'DeadLetteredEvents', {
      alarmDescription:
        'Events were set aside as dead letters in the last 5 minutes: they are in no result; see GET /dead-letters',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Every alarm of this construct, so one added later cannot be left without an action. OK too: whoever
    // was told of an incident also hears that it is over.
    const notify = new SnsAction(props.alertsTopic);
    for (const alarm of this.node.children.filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm)) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
  }
}
