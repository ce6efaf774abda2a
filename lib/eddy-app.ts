import type { App } from 'aws-cdk-lib';
import type { LoadedConfig } from '../config/load.ts';
import { API_AUTH_MODES, type ApiAuth } from './eddy-api.ts';
import { type AlertSubscriptions, StatefulStack, type StreamCapacity } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export interface EddyStacks {
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/**
 * Reads the `shards` context (`cdk deploy -c shards=N`): a provisioned stream of N shards, or on-demand
 * when it is absent.
 */
export function streamCapacityFromContext(app: App): StreamCapacity {
  const raw: unknown = app.node.tryGetContext('shards');
  if (raw === undefined) return { mode: 'onDemand' };
  const shards = Number(raw);
  if (!Number.isInteger(shards) || shards < 1) {
    throw new Error(`context 'shards' must be a positive integer number of shards (given ${JSON.stringify(raw)})`);
  }
  return { mode: 'provisioned', shards };
}

/**
 * Reads the `auth` context (`cdk deploy -c auth=iam|apiKey`): how callers of the API prove who they are.
 * `iam` when it is absent: SigV4 is authentication, which AWS advises API keys are not.
 */
export function apiAuthFromContext(app: App): ApiAuth {
  const raw: unknown = app.node.tryGetContext('auth');
  if (raw === undefined) return 'iam';
  const auth = API_AUTH_MODES.find((mode) => mode === raw);
  if (auth === undefined) {
    throw new Error(
      `context 'auth' must be one of ${API_AUTH_MODES.map((m) => `"${m}"`).join(', ')} (given ${JSON.stringify(raw)})`,
    );
  }
  return auth;
}

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const SQS_QUEUE_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

/**
 * Reads who hears the alerts topic from context, each key a comma-separated list (or a JSON array in
 * cdk.json): `-c alertEmail=ops@example.com,oncall@example.com`, `-c alertUrl=https://hooks.example.com/eddy`
 * (write a comma inside a URL as %2C), `-c alertQueueArn=arn:aws:sqs:eu-west-1:123456789012:eddy-alerts`.
 * Empty items are skipped; a bad one stops the synth, named with its key.
 */
export function alertSubscriptionsFromContext(app: App): AlertSubscriptions {
  return {
    emails: contextList(app, 'alertEmail', (item) => (EMAIL.test(item) ? undefined : 'must be an email address')),
    urls: contextList(app, 'alertUrl', (item) => {
      const protocol = urlProtocol(item);
      if (protocol === 'https:') return undefined;
      // SNS would deliver to http:// too, in clear text: alerts name the pipeline's resources.
      return protocol === undefined ? 'must be an https:// URL' : `must be an https:// URL, not ${protocol}//`;
    }),
    queueArns: contextList(app, 'alertQueueArn', (item) => {
      if (!SQS_QUEUE_ARN.test(item)) return 'must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)';
      // CloudWatch alarms publish only to standard topics, and only FIFO topics deliver to FIFO queues.
      return item.endsWith('.fifo')
        ? 'must be a standard queue: a FIFO queue cannot subscribe to the topic'
        : undefined;
    }),
  };
}

/** The items of a list-valued context key; `problem` says what is wrong with an item, or undefined. */
function contextList(app: App, key: string, problem: (item: string) => string | undefined): string[] {
  const raw: unknown = app.node.tryGetContext(key);
  if (raw === undefined) return [];
  const items = (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    const wrong = problem(item);
    if (wrong) throw new Error(`context '${key}': each comma-separated item ${wrong} (given ${JSON.stringify(item)})`);
  }
  return items;
}

function urlProtocol(value: string): string | undefined {
  try {
    return new URL(value).protocol;
  } catch {
    return undefined;
  }
}

/**
 * Adds Eddy's two stacks to `app`: `EddyStateful` (data; retained, ids never renamed) and `EddyStateless`
 * (functions, API, alarms; replaceable at will). Shared by bin/app.ts and the template tests.
 */
export function addEddyStacks(app: App, config: LoadedConfig): EddyStacks {
  const stateful = new StatefulStack(app, 'EddyStateful', {
    description: 'Eddy: event stream, state table, on-failure queue and their key (retained)',
    streamCapacity: streamCapacityFromContext(app),
    alertSubscriptions: alertSubscriptionsFromContext(app),
  });
  const stateless = new StatelessStack(app, 'EddyStateless', {
    description: 'Eddy: ingest, aggregate and query functions, REST API and alarms',
    config,
    stream: stateful.stream,
    table: stateful.table,
    onFailureQueue: stateful.onFailureQueue,
    resultsBus: stateful.resultsBus,
    logKey: stateful.key,
    alertsTopic: stateful.alertsTopic,
    auth: apiAuthFromContext(app),
  });
  return { stateful, stateless };
}
