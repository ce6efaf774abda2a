import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, it } from 'vitest';
import { ITERATOR_AGE_MINUTES, ITERATOR_AGE_THRESHOLD_MS } from '../../lib/eddy-alarms.ts';
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
});
