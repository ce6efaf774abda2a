import path from 'node:path';
import {
  CfnOutput,
  CrossStackReferences,
  Duration,
  ReferenceStrength,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, KinesisEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EMIT_SCHEDULE, EVENT_SOURCE } from '../config/event-source.ts';
import type { LoadedConfig } from '../config/load.ts';
import { CORS_ORIGIN_ENV } from '../lambdas/adapters/http.ts';
import { AGGREGATE_PERMISSIONS } from '../lambdas/aggregate/permissions.ts';
import { INGEST_PERMISSIONS } from '../lambdas/ingest/permissions.ts';
import { ON_FAILURE_PERMISSIONS } from '../lambdas/on-failure/permissions.ts';
import { PUBLISH_PERMISSIONS } from '../lambdas/publish/permissions.ts';
import { QUERY_PERMISSIONS } from '../lambdas/query/permissions.ts';
import { EddyAlarms } from './eddy-alarms.ts';
import { type ApiAuth, EddyApi } from './eddy-api.ts';
import { EddyDashboard } from './eddy-dashboard.ts';
import { EddyFunction } from './eddy-function.ts';
import { EddyOperationsDashboard } from './eddy-operations-dashboard.ts';

const LAMBDAS_DIR = path.join(import.meta.dirname, '..', 'lambdas');

export interface StatelessStackProps extends StackProps {
  /** The views config, inlined into every function's bundle. */
  readonly config: LoadedConfig;
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  /** On-failure destination of the aggregator's event source mapping. */
  readonly onFailureQueue: sqs.IQueue;
  /** Where final window results are published. */
  readonly resultsBus: events.IEventBus;
  /** Encrypts every log group; its key policy must let CloudWatch Logs in this region use it. */
  readonly logKey: kms.IKey;
  /**
   * Where every alarm publishes its state changes. A function that alerts people itself (anomalies) is
   * granted through its permissions (EddyFunction.grantPermissions), with the use of the topic's key.
   */
  readonly alertsTopic: sns.ITopic;
  /** How callers of the API prove who they are (see `ApiAuth`). */
  readonly auth: ApiAuth;
}

/**
 * The code and everything that can be replaced without losing data: the three functions, the event source
 * mapping, the REST API and the alarms.
 */
export class StatelessStack extends Stack {
  readonly ingest: EddyFunction;
  readonly aggregate: EddyFunction;
  readonly query: EddyFunction;
  readonly publish: EddyFunction;
  readonly onFailure: EddyFunction;
  readonly api: EddyApi;
  readonly dashboard: EddyDashboard;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    // Strong references (Export / Fn::ImportValue): CloudFormation refuses to delete or change a stateful
    // resource while this stack uses it, and LocalStack supports them (it has no Fn::GetStackOutput).
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const { config, stream, table, onFailureQueue, resultsBus, logKey } = props;

    // 1. Ingest: validates and packs posted events into Kinesis records; counts them and remembers
    //    idempotency keys in the table.
    this.ingest = new EddyFunction(this, 'Ingest', {
      entry: path.join(LAMBDAS_DIR, 'ingest', 'handler.ts'),
      config,
      logKey,
    });
    // Each function's grants are those its handler's adapters declare (lambdas/<function>/permissions.ts).
    this.ingest.grantPermissions(INGEST_PERMISSIONS, { table, stream });

    // 2. Aggregate: folds each batch into per-shard partial state, one conditional write per item per batch.
    this.aggregate = new EddyFunction(this, 'Aggregate', {
      entry: path.join(LAMBDAS_DIR, 'aggregate', 'handler.ts'),
      config,
      logKey,
      // A batch of packed records can hold tens of thousands of events and the panes they touch, with their
      // sketches: more memory buys both room and CPU.
      memorySize: 1024,
      timeout: Duration.seconds(EVENT_SOURCE.functionTimeoutSeconds),
    });
    this.aggregate.grantPermissions(AGGREGATE_PERMISSIONS, { table, stream });
    this.aggregate.addEventSource(
      new KinesisEventSource(stream, {
        startingPosition: lambda.StartingPosition[EVENT_SOURCE.startingPosition],
        batchSize: EVENT_SOURCE.batchSize,
        maxBatchingWindow: Duration.seconds(EVENT_SOURCE.maxBatchingWindowSeconds),
        retryAttempts: EVENT_SOURCE.retryAttempts,
        bisectBatchOnError: EVENT_SOURCE.bisectBatchOnError,
        maxRecordAge: Duration.seconds(EVENT_SOURCE.maxRecordAgeSeconds),
        parallelizationFactor: EVENT_SOURCE.parallelizationFactor,
        reportBatchItemFailures: EVENT_SOURCE.reportBatchItemFailures,
        onFailure: new SqsDlq(onFailureQueue),
      }),
    );

    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      Validations.of(this.aggregate.role!).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} on the stateful key only, added by SqsDlq (Queue.grantSendMessages) so the event source mapping can send failure records to the KMS-encrypted on-failure queue.`,
      });
    }

    // The aggregate function also runs on a schedule, to publish windows that became final while no batch
    // came along (when every shard is idle the watermark advances without records).
    new events.Rule(this, 'EmitFinalWindows', {
      description: 'Eddy: publish windows that became final while the stream was idle',
      schedule: events.Schedule.rate(Duration.minutes(EMIT_SCHEDULE.everyMinutes)),
      targets: [new targets.LambdaFunction(this.aggregate, { retryAttempts: 2 })],
    });

    // 3. Publish: the compacted windows' table stream → EventBridge, one event per final window and group.
    this.publish = new EddyFunction(this, 'Publish', {
      entry: path.join(LAMBDAS_DIR, 'publish', 'handler.ts'),
      config,
      logKey,
    });
    this.publish.grantPermissions(PUBLISH_PERMISSIONS, { resultsBus, alertsTopic: props.alertsTopic });
    this.publish.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: EVENT_SOURCE.retryAttempts,
        maxRecordAge: Duration.days(1),
        onFailure: new SqsDlq(onFailureQueue),
        // Only result chunks of views that publish, and anomalies: every other item changes far more often and
        // is not an event.
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { pk: { S: lambda.FilterRule.beginsWith('win|') }, pub: { BOOL: [true] } } },
          }),
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { pk: { S: lambda.FilterRule.beginsWith('anom|') } } },
          }),
        ],
      }),
    );
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      Validations.of(this.publish.role!).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} on the stateful key only, added by SqsDlq (Queue.grantSendMessages) so the event source mapping can send failure records to the KMS-encrypted on-failure queue.`,
      });
    }

    // 4. Query: reads and merges the shard partials; never writes.
    this.query = new EddyFunction(this, 'Query', {
      entry: path.join(LAMBDAS_DIR, 'query', 'handler.ts'),
      config,
      logKey,
    });
    this.query.grantPermissions(QUERY_PERMISSIONS, { table });

    // 5. The REST API in front of ingest and query.
    this.api = new EddyApi(this, 'Api', {
      functions: { ingest: this.ingest, query: this.query },
      auth: props.auth,
      logKey,
    });

    // 5b. The dashboard: S3 + CloudFront, talking to the API from its own origin (CORS).
    this.dashboard = new EddyDashboard(this, 'Dashboard', {
      apiUrl: this.api.restApi.url,
      apiOrigin: `https://${this.api.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}`,
      logKey,
    });
    this.api.allowBrowserOrigin(this.dashboard.origin);
    for (const fn of [this.ingest, this.query]) fn.addEnvironment(CORS_ORIGIN_ENV, this.dashboard.origin);

    // 6. On-failure: records each batch the event source mappings give up on in the table, with the number
    //    of events its records held, so /status counts it, GET /failed-batches lists it and `npm run redrive`
    //    finds it. Consuming the queue replaces reading it by hand; the alarm below counts what is sent to it.
    this.onFailure = new EddyFunction(this, 'OnFailure', {
      entry: path.join(LAMBDAS_DIR, 'on-failure', 'handler.ts'),
      config,
      logKey,
    });
    this.onFailure.grantPermissions(ON_FAILURE_PERMISSIONS, { table, stream });
    // A message that cannot be recorded is reported alone and stays in the queue (14 days) to be tried again.
    this.onFailure.addEventSource(new SqsEventSource(onFailureQueue, { batchSize: 10, reportBatchItemFailures: true }));

    // 7. Alarms on the signs that results are late or records were given up on.
    const alarms = new EddyAlarms(this, 'Alarms', {
      aggregate: this.aggregate,
      onFailureQueue,
      alertsTopic: props.alertsTopic,
      outOfOrdernessMs: config.spec.outOfOrdernessMs,
    });
    new EddyOperationsDashboard(this, 'Operations', {
      aggregate: this.aggregate,
      views: config.spec.views.map((view) => view.name),
      alarms,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.restApi.url, description: 'Base URL of the Eddy API' });
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description: 'The dashboard (needs -c auth=apiKey: a browser cannot sign requests with SigV4)',
    });
    if (this.api.invokePolicy) {
      new CfnOutput(this, 'ApiInvokePolicyArn', {
        value: this.api.invokePolicy.managedPolicyArn,
        description: 'Managed policy to attach to the roles or users that call the API (execute-api:Invoke)',
      });
      new CfnOutput(this, 'ApiCallExample', {
        value: `curl --aws-sigv4 "aws:amz:${this.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN" ${this.api.restApi.urlForPath('/status')}`,
        description: 'Calls the API with requests signed by the credentials in your shell (SigV4)',
      });
    }
    if (this.api.apiKey) {
      new CfnOutput(this, 'ApiKeyId', { value: this.api.apiKey.keyId, description: 'Id of the API key' });
      new CfnOutput(this, 'ApiKeyCommand', {
        value: `aws apigateway get-api-key --api-key ${this.api.apiKey.keyId} --include-value --query value --output text`,
        description: 'Prints the API key to send in the x-api-key header',
      });
    }
  }
}
