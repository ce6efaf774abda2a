/**
 * The IAM permissions an adapter needs, declared next to the calls it makes. A function's grants are the
 * union of the permissions of the adapters it wires (lambdas/<function>/permissions.ts): the CDK app turns
 * them into the role's policy (lib/eddy-function.ts) and the local runtime refuses any call outside them
 * (local/aws-twin.ts), so a call without its grant fails here first, not on AWS.
 *
 * Plain data, no AWS SDK or CDK import: the CDK app, the handlers and the local runtime all read it.
 */

/** The resources Eddy's functions touch, by role; each deployment (CDK or local) says which ARN each one is. */
export type ResourceRole = 'table' | 'stream' | 'resultsBus' | 'alertsTopic';

/**
 * The environment variable that tells a function each resource's name. It is set together with the grant
 * (lib/eddy-function.ts), so a function never has a name without its permissions or the other way round.
 */
export const RESOURCE_ENV: Readonly<Record<ResourceRole, string>> = {
  table: 'TABLE_NAME',
  stream: 'STREAM_NAME',
  resultsBus: 'EVENT_BUS_NAME',
  // SNS publishes by ARN.
  alertsTopic: 'ALERTS_TOPIC_ARN',
};

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem';
export type StreamAction =
  | 'kinesis:PutRecords'
  | 'kinesis:ListShards'
  | 'kinesis:GetShardIterator'
  | 'kinesis:GetRecords';
export type BusAction = 'events:PutEvents';
export type TopicAction = 'sns:Publish';

export type Permission =
  | {
      readonly resource: 'table';
      readonly actions: readonly TableAction[];
      /**
       * The partition keys these calls touch, as IAM `StringLike` patterns (`*` any characters): the
       * `dynamodb:LeadingKeys` condition, so a function reaches only its own kinds of item.
       */
      readonly leadingKeys: readonly string[];
    }
  | { readonly resource: 'stream'; readonly actions: readonly StreamAction[] }
  | { readonly resource: 'resultsBus'; readonly actions: readonly BusAction[] }
  | { readonly resource: 'alertsTopic'; readonly actions: readonly TopicAction[] };

export type IamAction = TableAction | StreamAction | BusAction | TopicAction;

export const TABLE_WRITE_ACTIONS: ReadonlySet<IamAction> = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
]);

/**
 * One statement per resource and set of leading keys, with the actions that share them: the smallest policy
 * that allows exactly the declared (action, resource, partition key) combinations.
 */
export function mergePermissions(permissions: readonly Permission[]): Permission[] {
  const byScope = new Map<string, { resource: ResourceRole; actions: Set<IamAction>; leadingKeys?: string[] }>();
  for (const p of permissions) {
    for (const action of p.actions) {
      // Per action, the union of the leading keys any adapter needs it for.
      const keys = p.resource === 'table' ? p.leadingKeys : undefined;
      const id = `${p.resource}|${action}`;
      const entry = byScope.get(id) ?? { resource: p.resource, actions: new Set([action]), leadingKeys: [] };
      if (keys) entry.leadingKeys = [...new Set([...(entry.leadingKeys ?? []), ...keys])].sort();
      byScope.set(id, entry);
    }
  }
  const merged = new Map<string, { resource: ResourceRole; actions: IamAction[]; leadingKeys: string[] }>();
  for (const { resource, actions, leadingKeys = [] } of byScope.values()) {
    const id = `${resource}|${leadingKeys.join(',')}`;
    const entry = merged.get(id) ?? { resource, actions: [], leadingKeys };
    entry.actions.push(...actions);
    merged.set(id, entry);
  }
  return [...merged.values()].map(({ resource, actions, leadingKeys }) => {
    const sorted = [...actions].sort();
    if (resource === 'table') return { resource, actions: sorted as TableAction[], leadingKeys };
    if (resource === 'stream') return { resource, actions: sorted as StreamAction[] };
    if (resource === 'alertsTopic') return { resource, actions: sorted as TopicAction[] };
    return { resource, actions: sorted as BusAction[] };
  });
}

/** Whether `value` matches an IAM `StringLike` pattern (`*` any run of characters, `?` one character). */
export function stringLike(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`, 's').test(value);
}
