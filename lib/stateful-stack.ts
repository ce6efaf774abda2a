import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/adapters/table-schema.ts';

/** How the event stream gets its capacity. */
export type StreamCapacity = { readonly mode: 'onDemand' } | { readonly mode: 'provisioned'; readonly shards: number };

/** Who hears the `Alerts` topic, besides whatever subscribes to it later (checked by `alertSubscriptionsFromContext`). */
export interface AlertSubscriptions {
  /** Email addresses; each must confirm the subscription from the message SNS sends it. */
  readonly emails?: readonly string[];
  /** HTTPS endpoints; each must confirm the subscription by visiting the `SubscribeURL` SNS POSTs to it. */
  readonly urls?: readonly string[];
  /**
   * ARNs of standard SQS queues. Their own policy must let this topic send to them (`sqs:SendMessage` for
   * `sns.amazonaws.com` with `aws:SourceArn` the topic), and a KMS-encrypted queue's key must let SNS use it.
   */
  readonly queueArns?: readonly string[];
}

export interface StatefulStackProps extends StackProps {
  /**
   * On-demand scales shards with traffic; provisioned fixes the shard count (cheaper at a steady, known rate).
   * @default { mode: 'onDemand' }
   */
  readonly streamCapacity?: StreamCapacity;
  /**
   * Subscriptions to the `Alerts` topic.
   * @default none: the alarms still publish to the topic, and anyone can subscribe to it later
   */
  readonly alertSubscriptions?: AlertSubscriptions;
}

/**
 * Everything that holds data: the key, the event stream, the state table, the on-failure queue, the results
 * bus and the alerts topic with its subscribers.
 *
 * Every resource is retained when the stack is deleted, and the construct ids below are a contract: renaming
 * one makes CloudFormation replace the resource, which for the table means losing every window's state.
 */
export class StatefulStack extends Stack {
  /** Customer-managed key that encrypts the stream, the table, the queue, the alerts topic and every log group. */
  readonly key: kms.Key;
  /** Events posted to the API, packed by ingest, read by the aggregator. */
  readonly stream: kinesis.Stream;
  /** Window state, counters and idempotency keys; layout in lambdas/adapters/table-schema.ts. */
  readonly table: dynamodb.Table;
  /** Where the aggregator's event source mapping sends batches it gave up on (metadata, not the records). */
  readonly onFailureQueue: sqs.Queue;
  /** Every window that becomes final is published here once, as an `Eddy Window Result` event. */
  readonly resultsBus: events.EventBus;
  /** Every pipeline alarm's state changes (lib/eddy-alarms.ts) are published here, for people to hear them. */
  readonly alertsTopic: sns.Topic;

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

    // Lives with the data because its subscribers do: an email subscription confirmed once stays confirmed
    // when the functions and alarms are replaced.
    this.alertsTopic = new sns.Topic(this, 'Alerts', {
      displayName: 'Eddy alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alertsTopic.applyRemovalPolicy(RemovalPolicy.RETAIN);
    // The TLS-only policy above replaces SNS's default topic policy, which is what lets the account's own
    // CloudWatch alarms publish: allow them again, and only them (alarms of this account and region).
    this.alertsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccountAndRegion',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alertsTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
        },
      }),
    );
    // CloudWatch publishes to an encrypted topic with its own service principal, so SNS asks KMS for the
    // topic's data key as CloudWatch: without this statement in the key policy every alarm notification is
    // refused (alarm history: "CloudWatch Alarms does not have authorization to access the SNS topic
    // encryption key") and nobody hears it. These are the actions AWS documents for it; the topic policy
    // above is what limits CloudWatch to this account's alarms.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const alerts = props.alertSubscriptions ?? {};
    for (const email of alerts.emails ?? [])
      this.alertsTopic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of alerts.urls ?? []) {
      this.alertsTopic.addSubscription(
        new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    }
    (alerts.queueArns ?? []).forEach((arn, index) => {
      const queue = sqs.Queue.fromQueueArn(this, `AlertQueue${index}`, arn);
      this.alertsTopic.addSubscription(new subscriptions.SqsSubscription(queue));
    });
  }
}
