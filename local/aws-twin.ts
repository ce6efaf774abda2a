/**
 * What AWS enforces on a function's SDK calls and the emulators do not: the local runtime's twin of IAM,
 * of Lambda's timeout, and of DynamoDB's key limits. dynalite and kinesis-local accept any call, so without
 * this a handler calling an action its role lacks passes every test here and fails on AWS
 * (AccessDeniedException on every batch).
 *
 * How: every SDK client the handlers create (lambdas/adapters/aws-clients.ts) gets a middleware that asks,
 * for each command, which function is calling — the invocation scope the local Lambda runtime opens
 * (local/lambda-runtime.ts, an AsyncLocalStorage) — and checks the call against that function's grants:
 * the same `Permission` declarations the CDK app turns into the role's policy (lambdas/<fn>/permissions.ts).
 * A call outside them fails with the error AWS would return, before it reaches the emulator.
 *
 * Hand-written because no library models IAM for the SDK's client side; it understands exactly the
 * statements Eddy's declarations can express (actions on one resource, `dynamodb:LeadingKeys`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ClientPlugin, clientPlugins } from '../lambdas/adapters/aws-clients.ts';
import { type IamAction, type Permission, type ResourceRole, stringLike } from '../lambdas/adapters/permissions.ts';
import { LOCAL_ACCOUNT_ID } from './aws-clients.ts';

/** The function a piece of code runs for, and whether Lambda has already stopped that invocation. */
export interface InvocationScope {
  readonly functionName: string;
  /** Set when the invocation passed its timeout: on AWS its process is frozen, so it makes no further calls. */
  timedOut: boolean;
}

const scopes = new AsyncLocalStorage<InvocationScope>();

/** Runs `fn` as (part of) an invocation of `functionName`; SDK calls inside it are checked against its grants. */
export function runAsInvocation<T>(scope: InvocationScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** One SDK call as the twin saw it: who, what, on which resource and partition keys, and whether it passed. */
export interface AwsCall {
  readonly functionName: string;
  readonly action: string;
  /** ARN of the resource the call names. */
  readonly resource: string;
  /** For DynamoDB: the partition key values the call touches. */
  readonly leadingKeys: readonly string[];
  readonly allowed: boolean;
}

export interface LocalResource {
  readonly name: string;
  readonly arn: string;
}

export interface AwsTwinOptions {
  /** Each function's grants, by function name. A function not listed may call nothing. */
  readonly functions: Readonly<Record<string, readonly Permission[]>>;
  /** What each resource role is in this deployment. */
  readonly resources: Readonly<Partial<Record<ResourceRole, LocalResource>>>;
  /** Sees every call made inside an invocation, allowed or not (the grants test records them). */
  readonly record?: (call: AwsCall) => void;
}

/** DynamoDB's key limits (bytes of the UTF-8 value). */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  DynamoDBClient: 'dynamodb',
  KinesisClient: 'kinesis',
  EventBridgeClient: 'events',
};

/** An error shaped like the SDK's service exceptions (name, $fault, HTTP status), as a handler would see it. */
export class AwsServiceError extends Error {
  readonly $fault = 'client';
  readonly $metadata: { httpStatusCode: number };
  constructor(
    override readonly name: string,
    message: string,
    httpStatusCode = 400,
  ) {
    super(message);
    this.$metadata = { httpStatusCode };
  }
}

let current: AwsTwinOptions | undefined;

/**
 * Holds every handler's SDK client to `options` from now on. The handlers create their clients once per
 * process, when their modules load, so the plugin is installed once (before they load) and reads the
 * options of the pipeline running now.
 */
export function installAwsTwin(options: AwsTwinOptions): void {
  current = options;
  if (!clientPlugins.includes(plugin)) clientPlugins.push(plugin);
}

/**
 * The twin as an SDK plugin. Calls made outside any invocation (tests and tools using the adapters
 * directly) are not checked: only a function has a role.
 */
const plugin: ClientPlugin = {
  applyToStack(stack) {
    stack.add(
      (next, context) => async (args) => {
        const scope = scopes.getStore();
        const options = current;
        if (!scope || !options) return next(args);
        if (scope.timedOut) {
          // On AWS the runtime is frozen at the timeout and this call never leaves it.
          throw new AwsServiceError(
            'InvocationTimedOut',
            `${scope.functionName}: the invocation passed its timeout; Lambda stopped it before this call`,
          );
        }
        const service = SERVICE_PREFIX[context.clientName ?? ''] ?? 'unknown';
        const action = `${service}:${String(context.commandName ?? '').replace(/Command$/, '')}`;
        const input = args.input as Record<string, unknown>;
        const target = resourceOf(service, input, options.resources);
        const keys = service === 'dynamodb' ? keysOf(action, input) : [];
        const allowed = isAllowed(
          options.functions[scope.functionName] ?? [],
          action,
          target.role,
          keys.map((k) => k.pk),
        );
        options.record?.({
          functionName: scope.functionName,
          action,
          resource: target.arn,
          leadingKeys: [...new Set(keys.map((k) => k.pk))],
          allowed,
        });
        if (!allowed) {
          const role = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${scope.functionName}-role/${scope.functionName}`;
          throw new AwsServiceError(
            'AccessDeniedException',
            `User: ${role} is not authorized to perform: ${action} on resource: ${target.arn} because no ` +
              `identity-based policy allows the ${action} action` +
              (keys.length > 0 ? ` (partition keys: ${[...new Set(keys.map((k) => k.pk))].join(', ')})` : ''),
          );
        }
        if (service === 'dynamodb') checkKeyLimits(keys);
        return next(args);
      },
      { step: 'initialize', name: 'eddyAwsTwin', override: true },
    );
  },
};

function isAllowed(
  grants: readonly Permission[],
  action: string,
  role: ResourceRole | undefined,
  partitionKeys: readonly string[],
): boolean {
  if (role === undefined) return false;
  return grants.some((grant) => {
    if (grant.resource !== role || !grant.actions.includes(action as never)) return false;
    if (grant.resource !== 'table') return true;
    // ForAllValues:StringLike: every partition key the call touches matches one of the patterns.
    return partitionKeys.every((key) => grant.leadingKeys.some((pattern) => stringLike(pattern, key)));
  });
}

function resourceOf(
  service: string,
  input: Record<string, unknown>,
  resources: AwsTwinOptions['resources'],
): { role: ResourceRole | undefined; arn: string } {
  let named: string | undefined;
  if (service === 'dynamodb') {
    named = (input.TableName as string | undefined) ?? Object.keys((input.RequestItems as object) ?? {})[0];
  } else if (service === 'kinesis') {
    named = (input.StreamARN as string | undefined) ?? (input.StreamName as string | undefined);
  } else if (service === 'events') {
    const entries = (input.Entries as Array<{ EventBusName?: string }> | undefined) ?? [];
    named = entries[0]?.EventBusName ?? 'default';
  }
  for (const [role, resource] of Object.entries(resources) as Array<[ResourceRole, LocalResource]>) {
    if (named === resource.name || named === resource.arn) return { role, arn: resource.arn };
  }
  return { role: undefined, arn: named ?? '*' };
}

interface ItemKey {
  readonly pk: string;
  readonly sk?: string;
}

type Attr = { S?: string; N?: string; B?: Uint8Array };
const attrText = (a: Attr | undefined): string | undefined =>
  a?.S ?? a?.N ?? (a?.B ? Buffer.from(a.B).toString('latin1') : undefined);

/** The keys a DynamoDB call touches (Eddy's table keys are `pk` and `sk`). */
function keysOf(action: IamAction | string, input: Record<string, unknown>): ItemKey[] {
  const fromItem = (item: Record<string, Attr> | undefined): ItemKey[] => {
    const pk = attrText(item?.pk);
    return pk === undefined ? [] : [{ pk, sk: attrText(item?.sk) }];
  };
  switch (action) {
    case 'dynamodb:PutItem':
      return fromItem(input.Item as Record<string, Attr>);
    case 'dynamodb:GetItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem':
      return fromItem(input.Key as Record<string, Attr>);
    case 'dynamodb:BatchGetItem': {
      const requests = Object.values((input.RequestItems as Record<string, { Keys?: Record<string, Attr>[] }>) ?? {});
      return requests.flatMap((r) => (r.Keys ?? []).flatMap(fromItem));
    }
    case 'dynamodb:Query': {
      // The partition key is the `pk = :value` part of the key condition.
      const m = /\bpk\s*=\s*(:[\w]+)/.exec(String(input.KeyConditionExpression ?? ''));
      const values = input.ExpressionAttributeValues as Record<string, Attr> | undefined;
      const pk = m ? attrText(values?.[m[1]!]) : undefined;
      return pk === undefined ? [] : [{ pk }];
    }
    default:
      return [];
  }
}

/** DynamoDB refuses keys over its limits with a ValidationException (dynalite accepts them). */
function checkKeyLimits(keys: readonly ItemKey[]): void {
  for (const { pk, sk } of keys) {
    if (Buffer.byteLength(pk) > MAX_PARTITION_KEY_BYTES) {
      throw new AwsServiceError(
        'ValidationException',
        `One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of${MAX_PARTITION_KEY_BYTES} bytes`,
      );
    }
    if (sk !== undefined && Buffer.byteLength(sk) > MAX_SORT_KEY_BYTES) {
      throw new AwsServiceError(
        'ValidationException',
        `One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of ${MAX_SORT_KEY_BYTES} bytes`,
      );
    }
  }
}
