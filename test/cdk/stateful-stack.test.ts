import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SCHEMA } from '../../lambdas/adapters/table-schema.ts';
import { streamCapacityFromContext } from '../../lib/eddy-app.ts';
import { StatefulStack } from '../../lib/stateful-stack.ts';
import { logicalIdOf } from './eddy-app-fixture.ts';

// The stateful stack needs no function code: build it alone, the way addEddyStacks does.
function statefulTemplate(context: Record<string, string> = {}): { stack: StatefulStack; template: Template } {
  const app = new App({ context, builtinCloudFormationValidation: false });
  const stack = new StatefulStack(app, 'EddyStateful', { streamCapacity: streamCapacityFromContext(app) });
  return { stack, template: Template.fromStack(stack) };
}

describe('EddyStateful', () => {
  let stack: StatefulStack;
  let template: Template;
  let keyRef: unknown;

  beforeAll(() => {
    // GIVEN the default context (no shards)
    // WHEN the stack is synthesized
    ({ stack, template } = statefulTemplate());
    keyRef = { 'Fn::GetAtt': [logicalIdOf(stack.key), 'Arn'] };
  });

  it('streams new table items, so emitted results can be published', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
  });

  it('keeps the results bus when the stack is deleted', () => {
    template.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Retain' });
  });

  it('creates a customer-managed key with rotation on', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it("lets CloudWatch Logs of the stack's region use the key for this account's log groups only", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchLogsOfThisAccountAndRegion',
            Effect: 'Allow',
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
            Resource: '*',
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':logs:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':log-group:*',
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

  it('encrypts the stream with the key, in on-demand mode by default', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: keyRef },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  it('keys the table on the string attributes of TABLE_SCHEMA', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
      ],
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
    });
  });

  it('bills the table on demand with point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('encrypts the table with the key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef },
    });
  });

  it.each([['AWS::KMS::Key'], ['AWS::Kinesis::Stream'], ['AWS::DynamoDB::Table'], ['AWS::SQS::Queue']])(
    'retains the %s when the stack is deleted or the resource replaced',
    (type) => {
      template.hasResource(type, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    },
  );

  it('encrypts the on-failure queue with the key and keeps messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: keyRef,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('denies non-TLS access to the on-failure queue', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('EddyStateful with -c shards=N', () => {
  it('provisions the stream with N shards', () => {
    // GIVEN -c shards=4
    // WHEN the stack is synthesized
    const { template } = statefulTemplate({ shards: '4' });
    // THEN the stream is provisioned with 4 shards
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 4,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
  });

  it.each(['0', '-1', '1.5', 'two'])('refuses shards=%s, naming the value', (shards) => {
    expect(() => statefulTemplate({ shards })).toThrow(`(given "${shards}")`);
  });
});
