/**
 * Invokes a handler the way the Lambda Node.js runtime does: with an event, a Lambda context, and the
 * result or error of the promise it returns.
 */
import { randomUUID } from 'node:crypto';
import type { Callback, Context, Handler } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './aws-clients.ts';

export interface LocalFunction<TEvent, TResult> {
  /** Lambda function name, as it appears in the context and in ARNs. */
  readonly name: string;
  readonly handler: Handler<TEvent, TResult>;
  /** The function's timeout; only `getRemainingTimeInMillis()` and a warning observe it locally. @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 1024 */
  readonly memoryMB?: number;
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${name}`;
}

export function executionRoleArn(name: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}-role`;
}

export interface Invocation<TResult> {
  readonly requestId: string;
  readonly result: TResult;
  readonly durationMs: number;
}

/**
 * Calls the handler and settles with its result; a throw or a rejected promise becomes a rejection, as a
 * function error does on AWS. Callback-style handlers are refused: nodejs24.x, the deployed runtime, dropped them.
 *
 * A handler that outlives its timeout is not cut off (a promise cannot be cancelled, and retrying while it still
 * writes would break the single-writer rule the aggregator relies on); it is reported instead.
 */
export async function invokeFunction<TEvent, TResult>(
  fn: LocalFunction<TEvent, TResult>,
  event: TEvent,
  warn: (message: string) => void = console.warn,
): Promise<Invocation<TResult>> {
  const requestId = randomUUID();
  const timeoutMs = (fn.timeoutSeconds ?? 60) * 1_000;
  const started = Date.now();
  const context = lambdaContext(fn, requestId, started + timeoutMs);
  const callback: Callback<TResult> = () => {
    throw new Error(
      `${fn.name}: callback-style handlers are not supported by the nodejs24.x runtime; return a promise`,
    );
  };
  const result = (await fn.handler(event, context, callback)) as TResult;
  const durationMs = Date.now() - started;
  if (durationMs > timeoutMs) {
    warn(`${fn.name} ran ${durationMs} ms, longer than its ${timeoutMs} ms timeout: on AWS this invocation fails`);
  }
  return { requestId, result, durationMs };
}

function lambdaContext(
  fn: Pick<LocalFunction<never, never>, 'name' | 'memoryMB'>,
  requestId: string,
  deadline: number,
): Context {
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported by the nodejs24.x runtime; return a promise`);
  };
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(fn.name),
    memoryLimitInMB: String(fn.memoryMB ?? 1024),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `${day}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}
