import type { App } from 'aws-cdk-lib';
import type { LoadedConfig } from '../config/load.ts';
import { API_AUTH_MODES, type ApiAuth } from './eddy-api.ts';
import { StatefulStack, type StreamCapacity } from './stateful-stack.ts';
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

/**
 * Adds Eddy's two stacks to `app`: `EddyStateful` (data; retained, ids never renamed) and `EddyStateless`
 * (functions, API, alarms; replaceable at will). Shared by bin/app.ts and the template tests.
 */
export function addEddyStacks(app: App, config: LoadedConfig): EddyStacks {
  const stateful = new StatefulStack(app, 'EddyStateful', {
    description: 'Eddy: event stream, state table, on-failure queue and their key (retained)',
    streamCapacity: streamCapacityFromContext(app),
  });
  const stateless = new StatelessStack(app, 'EddyStateless', {
    description: 'Eddy: ingest, aggregate and query functions, REST API and alarms',
    config,
    stream: stateful.stream,
    table: stateful.table,
    onFailureQueue: stateful.onFailureQueue,
    resultsBus: stateful.resultsBus,
    logKey: stateful.key,
    auth: apiAuthFromContext(app),
  });
  return { stateful, stateless };
}
