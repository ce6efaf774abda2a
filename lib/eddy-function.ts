import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { LoadedConfig } from '../config/load.ts';
import {
  mergePermissions,
  type Permission,
  RESOURCE_ENV,
  TABLE_WRITE_ACTIONS,
} from '../lambdas/adapters/permissions.ts';
import { SERVICE_NAME } from '../lambdas/adapters/pipeline-metrics.ts';

/** Retention of every log group: long enough to investigate an incident, short enough to stay cheap. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface EddyFunctionProps {
  /** Path of the handler module; it must `export const handler`. */
  readonly entry: string;
  /** The views config, built into the bundle and exposed to the handler as `process.env.EDDY_CONFIG`. */
  readonly config: LoadedConfig;
  /**
   * Encrypts the function's log group. Required, so that no log group is left unencrypted; the key policy
   * must let CloudWatch Logs in this region use it (lib/stateful-stack.ts).
   */
  readonly logKey: kms.IKey;
  /**
   * Memory in MB, 128 to 10240. Lambda allocates CPU in proportion to memory.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Longest time one invocation may run.
   * @default Duration.seconds(10) — an API request that takes longer has already failed for its caller.
   */
  readonly timeout?: Duration;
}

/**
 * The first lines of every bundle:
 * - CommonJS dependencies bundled into an ES module still call `require` for Node built-ins, so give them one.
 * - The views config, assigned to `process.env.EDDY_CONFIG` before any handler code runs. An esbuild `define`
 *   would only replace the literal expression `process.env.EDDY_CONFIG`, not `process.env[name]` as read by
 *   `requireEnv` in lambdas/adapters/aws-clients.ts; an assignment works for both.
 */
function bundleBanner(config: LoadedConfig): string {
  return [
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    // JSON twice: once to serialise the config, once to make that a JavaScript string literal.
    `process.env.EDDY_CONFIG = ${JSON.stringify(JSON.stringify(config.raw))};`,
  ].join('');
}

/**
 * A Lambda function with Eddy's defaults, set once here:
 *
 * | Setting | Value | Why |
 * |---|---|---|
 * | runtime | `NODEJS_24_X` | current LTS; nodejs20.x is deprecated |
 * | architecture | `ARM_64` | about 20% cheaper per GB-s than x86_64 for the same work |
 * | memory | 512 MB | enough CPU for JSON parsing and sketches; override per function |
 * | timeout | 10 s | override per function |
 * | environment | `NODE_OPTIONS`, `POWERTOOLS_SERVICE_NAME`; resource names only through `bind*` | a grant never comes without its name, nor a name without its grant |
 * | log group | own `LogGroup`, retention one month, encrypted with `logKey` | no log-retention custom resource, bounded storage cost; logs hold error details and idempotency keys |
 * | role | own role, write access to its log group only | no `AWSLambdaBasicExecutionRole` managed policy |
 * | tracing | X-Ray active | one trace from API Gateway through ingest |
 * | source maps | bundled, `NODE_OPTIONS=--enable-source-maps` | stack traces point at the TypeScript source |
 * | bundle | local esbuild, ESM, minified, `node24` target | no Docker; handlers are ES modules like the rest of the repo |
 * | AWS SDK | bundled | the versions pinned in package-lock.json, the ones tested locally, not the runtime's |
 * | views config | set as `process.env.EDDY_CONFIG` by the bundle's first line | Lambda environment variables are capped at 4 KB |
 * | `POWERTOOLS_SERVICE_NAME` | `eddy` | groups every function's logs, and its metrics (`service` dimension), under one service |
 */
export class EddyFunction extends NodejsFunction {
  /** Memory for functions that do not say otherwise, in MB. */
  static readonly DEFAULT_MEMORY_MB = 512;
  /** Timeout for functions that do not say otherwise. */
  static readonly DEFAULT_TIMEOUT = Duration.seconds(10);

  constructor(scope: Construct, id: string, props: EddyFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: LOG_RETENTION,
      encryptionKey: props.logKey,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the Eddy ${id} function`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? EddyFunction.DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? EddyFunction.DEFAULT_TIMEOUT,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        // Prefer packages' ES module builds; fall back to CommonJS ones.
        mainFields: ['module', 'main'],
        banner: bundleBanner(props.config),
        bundleAwsSDK: true,
        minify: true,
        // Error and class names stay readable in logs even though the bundle is minified.
        keepNames: true,
        sourceMap: true,
        // Line mappings are enough for stack traces; leaving sources out keeps the bundle small.
        sourcesContent: false,
      },
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) do not support resource-level permissions.',
    });
  }

  /**
   * Grants this function exactly `permissions` (declared by the adapters its handler wires, see
   * lambdas/<function>/permissions.ts) on the resources they name, and tells it each resource's name in the
   * matching environment variable (`RESOURCE_ENV`): a name never comes without its grant, nor a grant
   * without its name.
   *
   * - Table: one statement per set of partition keys, restricted by `dynamodb:LeadingKeys`, so a function
   *   reaches only its own kinds of item. With a customer-managed key, DynamoDB uses the key on the caller's
   *   behalf: readers get `kms:Decrypt`, writers also `kms:Encrypt` and `kms:GenerateDataKey` (CDK's
   *   `grantWriteData` would add wildcard actions).
   * - Stream: the actions on the stream; a producer of a KMS-encrypted stream also needs
   *   `kms:GenerateDataKey` on its key, a reader `kms:Decrypt`.
   * - Results bus: the actions on the bus.
   * - Alerts topic: the actions on the topic; with a KMS key, publishing needs `kms:GenerateDataKey` and
   *   `kms:Decrypt` on it (SNS encrypts the message with a data key on the caller's behalf).
   */
  grantPermissions(permissions: readonly Permission[], resources: FunctionResources): void {
    for (const permission of mergePermissions(permissions)) {
      const resource = resources[permission.resource];
      if (!resource) {
        throw new Error(`${this.node.id}: its permissions name the ${permission.resource}, which was not given`);
      }
      this.addEnvironment(RESOURCE_ENV[permission.resource], resourceName(resource));
      switch (permission.resource) {
        case 'table': {
          const table = resource as dynamodb.ITable;
          this.addToRolePolicy(
            new iam.PolicyStatement({
              actions: [...permission.actions],
              resources: [table.tableArn],
              conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...permission.leadingKeys] } },
            }),
          );
          const writes = permission.actions.some((action) => TABLE_WRITE_ACTIONS.has(action));
          table.encryptionKey?.grant(this, 'kms:Decrypt', ...(writes ? ['kms:Encrypt', 'kms:GenerateDataKey'] : []));
          break;
        }
        case 'stream': {
          const stream = resource as kinesis.IStream;
          stream.grant(this, ...permission.actions);
          if (permission.actions.includes('kinesis:PutRecords'))
            stream.encryptionKey?.grant(this, 'kms:GenerateDataKey');
          if (permission.actions.includes('kinesis:GetRecords')) stream.encryptionKey?.grant(this, 'kms:Decrypt');
          break;
        }
        case 'resultsBus': {
          const bus = resource as events.IEventBus;
          this.addToRolePolicy(
            new iam.PolicyStatement({ actions: [...permission.actions], resources: [bus.eventBusArn] }),
          );
          break;
        }
        case 'alertsTopic': {
          const topic = resource as sns.ITopic;
          this.addToRolePolicy(
            new iam.PolicyStatement({ actions: [...permission.actions], resources: [topic.topicArn] }),
          );
          topic.masterKey?.grant(this, 'kms:GenerateDataKey', 'kms:Decrypt');
          break;
        }
      }
    }
  }
}

/** The resources a function's permissions may name, by role. */
export interface FunctionResources {
  readonly table?: dynamodb.ITable;
  readonly stream?: kinesis.IStream;
  readonly resultsBus?: events.IEventBus;
  readonly alertsTopic?: sns.ITopic;
}

function resourceName(resource: dynamodb.ITable | kinesis.IStream | events.IEventBus | sns.ITopic): string {
  if ('tableName' in resource) return resource.tableName;
  if ('streamName' in resource) return resource.streamName;
  if ('topicArn' in resource) return resource.topicArn;
  return resource.eventBusName;
}
