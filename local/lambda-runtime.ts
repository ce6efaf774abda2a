/**
 * Invokes a handler the way the Lambda Node.js runtime does: with an event, a Lambda context, and the
 * result or error of the promise it returns.
 */
import { randomUUID } from 'node:crypto';
import type { Callback, Context, Handler } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './aws-clients.ts';
import { type InvocationScope, runAsInvocation } from './aws-twin.ts';

export interface LocalFunction<TEvent, TResult> {
  /** Lambda function name, as it appears in the context and in ARNs; its grants are looked up by it. */
  readonly name: string;
  readonly handler: Handler<TEvent, TResult>;
  /** The function's timeout: the invocation fails when it passes, as on Lambda. @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 1024 */
  readonly memoryMB?: number;
}

/** Lambda's limit on a synchronous invocation's request payload (the event's JSON). */
export const MAX_REQUEST_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Lambda's limit on a synchronous invocation's response payload, as its error message states it. */
export const MAX_RESPONSE_PAYLOAD_BYTES = 6_291_556;

/** Lambda refused the invocation because the event is too large; the function did not run. */
export class RequestTooLargeError extends Error {
  override readonly name = 'RequestEntityTooLargeException';
}

/** The invocation ran past its timeout: Lambda stops it and reports a function error. */
export class InvocationTimeoutError extends Error {
  override readonly name = 'Sandbox.Timedout';
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
 * What Lambda enforces is enforced here:
 * - the handler runs in the function's invocation scope (local/aws-twin.ts), so its SDK calls are held to
 *   the function's grants;
 * - an event over 6 MB is refused before the handler runs, and a result over Lambda's response limit is a
 *   function error;
 * - past its timeout the invocation fails (`Task timed out after N seconds`) and its caller (the event source
 *   mapping, API Gateway) handles that as a function error. A promise cannot be cancelled, so the handler's
 *   code may still run, but as on AWS, where the process is frozen, it makes no further AWS calls: the scope
 *   is marked timed out and the twin refuses them. Calls already sent may still land, as they can on AWS.
 */
export async function invokeFunction<TEvent, TResult>(
  fn: LocalFunction<TEvent, TResult>,
  event: TEvent,
): Promise<Invocation<TResult>> {
  const requestId = randomUUID();
  const timeoutSeconds = fn.timeoutSeconds ?? 60;
  const timeoutMs = timeoutSeconds * 1_000;
  const requestBytes = Buffer.byteLength(JSON.stringify(event) ?? '');
  if (requestBytes > MAX_REQUEST_PAYLOAD_BYTES) {
    throw new RequestTooLargeError(
      `${requestBytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_REQUEST_PAYLOAD_BYTES} bytes)`,
    );
  }
  const started = Date.now();
  const context = lambdaContext(fn, requestId, started + timeoutMs);
  const callback: Callback<TResult> = () => {
    throw new Error(
      `${fn.name}: callback-style handlers are not supported by the nodejs24.x runtime; return a promise`,
    );
  };
  const scope: InvocationScope = { functionName: fn.name, timedOut: false };
  const running = runAsInvocation(scope, async () => (await fn.handler(event, context, callback)) as TResult);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      scope.timedOut = true;
      reject(new InvocationTimeoutError(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds`));
    }, timeoutMs);
  });
  // The handler's own outcome after a timeout is nobody's concern, as on Lambda.
  running.catch(() => undefined);
  let result: TResult;
  try {
    result = await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
  const responseBytes = Buffer.byteLength(JSON.stringify(result) ?? '');
  if (responseBytes > MAX_RESPONSE_PAYLOAD_BYTES) {
    throw new Error(
      `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_PAYLOAD_BYTES} bytes): ${responseBytes} bytes`,
    );
  }
  return { requestId, result, durationMs: Date.now() - started };
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
