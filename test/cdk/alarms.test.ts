import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ITERATOR_AGE_MINUTES, ITERATOR_AGE_THRESHOLD_MS, WATERMARK_LAG_MINUTES } from '../../lib/eddy-alarms.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

describe('EddyStateless alarms', () => {
  let fx: EddyFixture;

  beforeAll(async () => {
    // GIVEN the default app
    // WHEN it is synthesized
    fx = await buildEddyApp();
  });

  it('alarms when the aggregator stays more than 60 s behind the stream for 5 minutes', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(fx.stateless.aggregate) } }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: ITERATOR_AGE_MINUTES,
      Threshold: ITERATOR_AGE_THRESHOLD_MS,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on any aggregator error', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(fx.stateless.aggregate) } }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms when a message is sent to the on-failure queue (its consumer empties it at once)', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Statistic: 'Sum',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::ImportValue': Match.stringLikeRegexp('OnFailureQueue.*QueueName') } },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("alarms when the watermark stays more than a minute plus the views' out-of-orderness behind wall time for 5 minutes", () => {
    // config/views.ts: outOfOrderness 4 s, so 60 s + 4 s
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Eddy',
      MetricName: 'WatermarkLag',
      Dimensions: [{ Name: 'service', Value: 'eddy' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: WATERMARK_LAG_MINUTES,
      Threshold: 64_000,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on any event set aside as a dead letter', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Eddy',
      MetricName: 'DeadLetteredEvents',
      Dimensions: [{ Name: 'service', Value: 'eddy' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("publishes every alarm's ALARM and OK transitions to the stateful alerts topic", () => {
    const alarms = Object.values(fx.statelessTemplate.findResources('AWS::CloudWatch::Alarm'));
    const topic = [
      {
        'Fn::ImportValue': expect.stringMatching(
          new RegExp(`^EddyStateful:ExportsOutputRef${logicalIdOf(fx.stateful.alertsTopic)}`),
        ),
      },
    ];
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: topic, OKActions: topic });
    }
  });
});
