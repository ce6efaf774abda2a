/**
 * SDK clients, configured once. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_*` variables, which is
 * how the local runtime and LocalStack point the same handler code at emulators.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Pluggable } from '@smithy/types';
import { handlerTracer } from './observability.ts';

/**
 * Middleware every client created here gets. Empty on AWS. The local runtime adds its twin of AWS's checks
 * (local/aws-twin.ts: IAM grants, invocation timeouts, DynamoDB key limits) before it loads the handlers,
 * which create their clients when their modules load; the SDK has no other way to reach clients it did
 * not create.
 */
// biome-ignore lint/suspicious/noExplicitAny: a plugin applies to every client's input and output types
export type ClientPlugin = Pluggable<any, any>;
export const clientPlugins: ClientPlugin[] = [];

// Also the one place every client passes through, so it is where the tracer wraps them: on AWS each call
// becomes an X-Ray subsegment (DynamoDB, Kinesis, EventBridge); elsewhere the tracer is off and returns the
// client untouched (lambdas/adapters/observability.ts).
function withPlugins<T extends { middlewareStack: { use(plugin: ClientPlugin): void } }>(client: T): T {
  for (const plugin of clientPlugins) client.middlewareStack.use(plugin);
  return handlerTracer().captureAWSv3Client(client);
}

// HTTP/1.1 with keep-alive: the SDK's default HTTP/2 handler for Kinesis does not work against kinesis-local,
// and reusing connections matters more than multiplexing for a handler that makes a few dozen calls a batch.
function requestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
  });
}

/** Throttling on a hot partition is retried by the SDK with backoff; 8 attempts ride out a few seconds of it. */
const MAX_ATTEMPTS = 8;

export function createDynamoClient(): DynamoDBClient {
  return withPlugins(new DynamoDBClient({ requestHandler: requestHandler(), maxAttempts: MAX_ATTEMPTS }));
}

export function createKinesisClient(): KinesisClient {
  return withPlugins(new KinesisClient({ requestHandler: requestHandler(), maxAttempts: MAX_ATTEMPTS }));
}

export function createEventBridgeClient(): EventBridgeClient {
  return withPlugins(new EventBridgeClient({ requestHandler: requestHandler(), maxAttempts: MAX_ATTEMPTS }));
}

export function createSnsClient(): SNSClient {
  return withPlugins(new SNSClient({ requestHandler: requestHandler(), maxAttempts: MAX_ATTEMPTS }));
}

/** Reads a required environment variable, naming it when missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
