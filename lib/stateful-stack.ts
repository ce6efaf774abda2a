import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/adapters/table-schema.ts';

/** How the event stream gets its capacity. */
export type StreamCapacity = { readonly mode: 'onDemand' } | { readonly mode: 'provisioned'; readonly shards: number };

export interface StatefulStackProps extends StackProps {
  /**
   * On-demand scales shards with traffic; provisioned fixes the shard count (cheaper at a steady, known rate).
   * @default { mode: 'onDemand' }
   */
  readonly streamCapacity?: StreamCapacity;
}

/**
 * Everything that holds data: the key, the event stream, the state table and the on-failure queue.
 *
 * Every resource is retained when the stack is deleted, and the construct ids below are a contract: renaming
 * one makes CloudFormation replace the resource, which for the table means losing every window's state.
 */
export class StatefulStack extends Stack {
  /** Customer-managed key that encrypts the stream, the table, the queue and every log group of Eddy. */
  readonly key: kms.Key;
  /** Events posted to the API, packed by ingest, read by the aggregator. */
  readonly stream: kinesis.Stream;
  /** Window state, counters and idempotency keys; layout in lambdas/adapters/table-schema.ts. */
  readonly table: dynamodb.Table;
  /** Where the aggregator's event source mapping sends batches it gave up on (metadata, not the records). */
  readonly onFailureQueue: sqs.Queue;
  /** Every window that becomes final is published here once, as an `Eddy Window Result` event. */
  readonly resultsBus: events.EventBus;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);
    const capacity = props.streamCapacity ?? { mode: 'onDemand' };
    if (capacity.mode === 'provisioned' && !(Number.isInteger(capacity.shards) && capacity.shards >= 1)) {
      throw new Error(`shard count must be a positive integer (given ${capacity.shards})`);
    }

    this.key = new kms.Key(this, 'Key', {
      description: 'Eddy: encrypts the event stream, the state table, the on-failure queue and the log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts with the key itself, as this region's logs service, not as the writer's role:
    // the key policy must allow it, limited by the encryption context to this account's log groups in this
    // region (the statement AWS documents for encrypting log data with KMS).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccountAndRegion',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );

    this.stream = new kinesis.Stream(this, 'EventStream', {
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
      ...(capacity.mode === 'provisioned'
        ? { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: capacity.shards }
        : { streamMode: kinesis.StreamMode.ON_DEMAND }),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    Validations.of(this.stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'A customer-managed key is deliberate: one key with rotation encrypts the stream, the table, the queue and the log groups, so access to all Eddy data is granted, audited and revoked in one key policy. KMS request cost stays small because ingest packs many events into each record.',
    });

    this.table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      // Emitted results are written to an outbox in the table; its stream carries them to EventBridge.
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.onFailureQueue = new sqs.Queue(this, 'OnFailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      // The longest SQS allows: time for someone to notice the alarm and replay the failed batches.
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination (the on-failure destination of the aggregate event source mapping); nothing consumes it automatically, so there is no failing consumer whose messages a further DLQ would catch.',
    });

    // Consumers write rules against this bus by name, so it lives with the data, not with the code.
    this.resultsBus = new events.EventBus(this, 'ResultsBus', {
      description: 'Eddy: one event per window when it becomes final',
    });
    this.resultsBus.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
