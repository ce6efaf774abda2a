import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { alertSubscriptionsFromContext } from '../../lib/eddy-app.ts';
import { StatefulStack } from '../../lib/stateful-stack.ts';
import { logicalIdOf } from './eddy-app-fixture.ts';

// The topic lives in the stateful stack, which needs no function code: build it alone, as addEddyStacks does.
function statefulWith(context: Record<string, unknown> = {}): { stack: StatefulStack; template: Template } {
  const app = new App({ context, builtinCloudFormationValidation: false });
  const stack = new StatefulStack(app, 'EddyStateful', { alertSubscriptions: alertSubscriptionsFromContext(app) });
  return { stack, template: Template.fromStack(stack) };
}

describe('EddyStateful alerts topic', () => {
  let stack: StatefulStack;
  let template: Template;
  let topicRef: { Ref: string };

  beforeAll(() => {
    // GIVEN no alert context
    // WHEN the stateful stack is synthesized
    ({ stack, template } = statefulWith());
    topicRef = { Ref: logicalIdOf(stack.alertsTopic) };
  });

  it("keeps the construct id 'Alerts' (stateful ids are a contract)", () => {
    expect(stack.alertsTopic.node.id).toBe('Alerts');
  });

  it('encrypts the topic with the stateful key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack.key), 'Arn'] },
    });
  });

  it('keeps the topic, and so its confirmed subscriptions, when the stack is deleted', () => {
    template.hasResource('AWS::SNS::Topic', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('denies publishing and subscribing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it("lets CloudWatch publish to the topic for this account's alarms in this region only", () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsOfThisAccountAndRegion',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topicRef,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
            },
          },
        ]),
      },
    });
  });

  it("lets CloudWatch use the key for the encrypted topic's data keys (kms:Decrypt, kms:GenerateDataKey*)", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ]),
      },
    });
  });

  it('has no subscriptions without alert context', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('EddyStateful alert subscriptions from context', () => {
  it('subscribes each address of -c alertEmail=a,b by email', () => {
    // GIVEN two comma-separated addresses, with a space and a trailing comma
    // WHEN the stack is synthesized
    const { stack, template } = statefulWith({ alertEmail: 'ops@example.com, oncall@example.org,' });
    // THEN each address is one email subscription to the topic
    for (const endpoint of ['ops@example.com', 'oncall@example.org']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: endpoint,
        TopicArn: { Ref: logicalIdOf(stack.alertsTopic) },
      });
    }
    template.resourceCountIs('AWS::SNS::Subscription', 2);
  });

  it('subscribes -c alertUrl=https://… over HTTPS', () => {
    const { template } = statefulWith({ alertUrl: 'https://hooks.example.com/eddy?team=data' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/eddy?team=data',
    });
  });

  it('subscribes -c alertQueueArn=arn:… as an SQS subscription', () => {
    const arn = 'arn:aws:sqs:eu-west-1:123456789012:eddy-alerts';
    const { template } = statefulWith({ alertQueueArn: arn });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', Endpoint: arn });
  });

  it('reads a JSON array from cdk.json as well as a comma-separated string', () => {
    const { template } = statefulWith({ alertEmail: ['ops@example.com', 'oncall@example.org'] });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
  });

  it.each([
    ['alertEmail', 'ops@example.com,ops-at-example.com', 'must be an email address (given "ops-at-example.com")'],
    [
      'alertUrl',
      'http://hooks.example.com/eddy',
      'must be an https:// URL, not http:// (given "http://hooks.example.com/eddy")',
    ],
    ['alertUrl', 'hooks.example.com/eddy', 'must be an https:// URL (given "hooks.example.com/eddy")'],
    [
      'alertQueueArn',
      'eddy-alerts',
      'must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>) (given "eddy-alerts")',
    ],
    [
      'alertQueueArn',
      'arn:aws:sqs:eu-west-1:123456789012:eddy-alerts.fifo',
      'must be a standard queue: a FIFO queue cannot subscribe to the topic (given "arn:aws:sqs:eu-west-1:123456789012:eddy-alerts.fifo")',
    ],
  ])('refuses %s=%s, naming the bad item', (key, value, message) => {
    expect(() => statefulWith({ [key]: value })).toThrow(`context '${key}': each comma-separated item ${message}`);
  });
});
