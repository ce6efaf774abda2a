import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE } from '../../config/event-source.ts';
import type { EddyFunction } from '../../lib/eddy-function.ts';
import {
  buildEddyApp,
  type EddyFixture,
  logicalIdOf,
  policyActions,
  policyStatements,
  tableStatements,
} from './eddy-app-fixture.ts';

describe('EddyStateless functions', () => {
  let fx: EddyFixture;
  const fn = (name: 'ingest' | 'aggregate' | 'query' | 'publish' | 'onFailure'): EddyFunction => fx.stateless[name];
  const importOf = (exportPattern: string) => ({ 'Fn::ImportValue': Match.stringLikeRegexp(exportPattern) });

  beforeAll(async () => {
    // GIVEN the default views config and context
    // WHEN the app is synthesized
    fx = await buildEddyApp();
  });

  it('runs every function on Node.js 24 on arm64 with active tracing and source maps', () => {
    // Every function but the one CDK's BucketDeployment brings (the dashboard's files; its runtime is CDK's).
    const functions = Object.entries(fx.statelessTemplate.findResources('AWS::Lambda::Function')).filter(
      ([logicalId]) => !logicalId.startsWith('CustomCDKBucketDeployment'),
    );
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const [logicalId, resource] of functions) {
      expect(resource.Properties, logicalId).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: expect.objectContaining({
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: 'eddy',
          }),
        },
      });
    }
  });

  it.each([
    ['ingest', 512, 10],
    ['aggregate', 1024, 60],
    ['query', 512, 10],
  ] as const)('gives %s %d MB and a %d s timeout', (name, memory, timeout) => {
    fx.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalIdOf(fn(name).role!), 'Arn'] },
      MemorySize: memory,
      Timeout: timeout,
    });
  });

  it.each([
    ['ingest', ['STREAM_NAME', 'TABLE_NAME']],
    ['aggregate', ['STREAM_NAME', 'TABLE_NAME']],
    ['query', ['TABLE_NAME']],
  ] as const)('tells %s the names of the resources it uses: %j', (name, expected) => {
    const resource = fx.statelessTemplate.findResources('AWS::Lambda::Function')[logicalIdOf(fn(name))];
    const variables = Object.keys(resource?.Properties.Environment.Variables ?? {});
    expect(variables.filter((v) => v.endsWith('_NAME') && !v.startsWith('POWERTOOLS')).sort()).toEqual(expected);
  });

  it.each(['ingest', 'aggregate', 'query'] as const)('logs %s to its own log group kept for 30 days', (name) => {
    const logGroupId = logicalIdOf(fn(name).logGroup);
    fx.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalIdOf(fn(name).role!), 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
    expect(fx.statelessTemplate.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties).toEqual({
      RetentionInDays: 30,
      KmsKeyId: expect.anything(), // which key: log-encryption.test.ts
    });
  });

  it.each(['ingest', 'aggregate', 'query'] as const)('gives the %s role no AWS managed policies', (name) => {
    const role = fx.statelessTemplate.findResources('AWS::IAM::Role')[logicalIdOf(fn(name).role!)];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  describe('aggregate event source mapping', () => {
    it('reads the stream with every setting from config/event-source.ts', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(fn('aggregate')) },
        EventSourceArn: importOf('EventStream.*Arn'),
        BatchSize: EVENT_SOURCE.batchSize,
        MaximumBatchingWindowInSeconds: EVENT_SOURCE.maxBatchingWindowSeconds,
        MaximumRetryAttempts: EVENT_SOURCE.retryAttempts,
        BisectBatchOnFunctionError: EVENT_SOURCE.bisectBatchOnError,
        MaximumRecordAgeInSeconds: EVENT_SOURCE.maxRecordAgeSeconds,
        ParallelizationFactor: EVENT_SOURCE.parallelizationFactor,
        StartingPosition: EVENT_SOURCE.startingPosition,
      });
    });

    it('sends batches it gives up on to the on-failure queue', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        DestinationConfig: { OnFailure: { Destination: importOf('OnFailureQueue.*Arn') } },
      });
    });

    it('fails batches as a whole (no partial batch responses)', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: Match.absent(),
      });
    });
  });

  describe('publishing final windows', () => {
    it('runs the aggregate function every minute to emit windows made final while the stream was idle', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf(fn('aggregate')), 'Arn'] } })],
      });
    });

    it('reads only first writes of published result chunks and of anomalies from the table stream, with bisect, bounded retries and on-failure', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(fn('publish')) },
        EventSourceArn: importOf('StateTable.*StreamArn'),
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: EVENT_SOURCE.retryAttempts,
        DestinationConfig: { OnFailure: { Destination: importOf('OnFailureQueue.*Arn') } },
        FilterCriteria: {
          Filters: [
            {
              Pattern: JSON.stringify({
                eventName: ['INSERT'],
                dynamodb: { NewImage: { pk: { S: [{ prefix: 'win|' }] }, pub: { BOOL: [true] } } },
              }),
            },
            {
              Pattern: JSON.stringify({
                eventName: ['INSERT'],
                dynamodb: { NewImage: { pk: { S: [{ prefix: 'anom|' }] } } },
              }),
            },
          ],
        },
      });
    });

    it('lets publish put events on the results bus and nothing in the table', () => {
      const actions = policyActions(fx.statelessTemplate, fn('publish').role!);
      expect(actions).toContain('events:PutEvents');
      expect(
        actions.filter(
          (a) =>
            a.startsWith('dynamodb:') &&
            !a.startsWith('dynamodb:GetRecords') &&
            !['dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams'].includes(a),
        ),
      ).toEqual([]);
    });

    it('lets publish send anomalies to the alerts topic, and use its key to encrypt them, by the ARN it is told', () => {
      const statements = policyStatements(fx.statelessTemplate, fn('publish').role!);
      const imported = (pattern: RegExp) => ({ 'Fn::ImportValue': expect.stringMatching(pattern) });
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'sns:Publish', Resource: imported(/Alerts/) }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: imported(/Key.*Arn/) }),
      );
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ ALERTS_TOPIC_ARN: importOf('Alerts') }) },
      });
    });

    it('lets aggregate list the stream shards, so unseen shards hold the watermark back', () => {
      expect(policyActions(fx.statelessTemplate, fn('aggregate').role!)).toContain('kinesis:ListShards');
    });
  });

  describe('on-failure queue consumer', () => {
    it('reads the on-failure queue, reporting the messages it could not record one by one', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(fn('onFailure')) },
        EventSourceArn: importOf('OnFailureQueue.*Arn'),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    it('writes only given-up batches in the table', () => {
      const statements = tableStatements(fx.statelessTemplate, fn('onFailure').role!);
      expect(statements).toEqual([{ actions: ['dynamodb:PutItem'], leadingKeys: ['failed'] }]);
    });

    it('reads the ranges they name from the stream, and does not write to it', () => {
      const actions = policyActions(fx.statelessTemplate, fn('onFailure').role!);
      expect(actions.filter((a) => a.startsWith('kinesis:')).sort()).toEqual([
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
      ]);
      expect(actions).toContain('kms:Decrypt');
    });
  });

  describe('least privilege', () => {
    it('lets ingest put records into the stream, and nothing else of it', () => {
      const actions = policyActions(fx.statelessTemplate, fn('ingest').role!);
      expect(actions.filter((a) => a.startsWith('kinesis:'))).toEqual(['kinesis:PutRecords']);
      expect(actions).toContain('kms:GenerateDataKey');
    });

    it.each(['ingest', 'aggregate', 'query'] as const)(
      'restricts every table statement of %s to partition keys (dynamodb:LeadingKeys)',
      (name) => {
        const statements = tableStatements(fx.statelessTemplate, fn(name).role!);
        expect(statements.length).toBeGreaterThan(0);
        for (const statement of statements) expect(statement.leadingKeys).not.toEqual([]);
      },
    );

    it('keeps ingest to its counters and idempotency keys, never window state', () => {
      const keys = tableStatements(fx.statelessTemplate, fn('ingest').role!).flatMap((s) => s.leadingKeys);
      expect([...new Set(keys)].sort()).toEqual(['idem|*', 'ingest']);
    });

    it('lets aggregate read and raise the emitted-through watermark (GetItem and UpdateItem on pipeline)', () => {
      const onPipeline = tableStatements(fx.statelessTemplate, fn('aggregate').role!).filter((s) =>
        s.leadingKeys.includes('pipeline'),
      );
      expect(onPipeline.flatMap((s) => s.actions).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    });

    it('gives aggregate no access to ingest counters or idempotency keys', () => {
      const keys = tableStatements(fx.statelessTemplate, fn('aggregate').role!).flatMap((s) => s.leadingKeys);
      expect(keys.filter((k) => k.startsWith('idem') || k === 'ingest')).toEqual([]);
    });

    it('gives query no write actions', () => {
      const actions = policyActions(fx.statelessTemplate, fn('query').role!);
      expect([...new Set(actions.filter((a) => a.startsWith('dynamodb:')))].sort()).toEqual([
        'dynamodb:GetItem',
        'dynamodb:Query',
      ]);
      const writes = actions.filter((a) =>
        /^(dynamodb:(Put|Update|Delete|BatchWrite)|kinesis:Put|sqs:Send|kms:(Encrypt|GenerateDataKey|ReEncrypt))/.test(
          a,
        ),
      );
      expect(writes).toEqual([]);
    });

    it.each(['ingest', 'query'] as const)('grants %s no wildcard actions', (name) => {
      expect(policyActions(fx.statelessTemplate, fn(name).role!).filter((a) => a.includes('*'))).toEqual([]);
    });
  });
});
