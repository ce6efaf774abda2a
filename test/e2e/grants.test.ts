/**
 * What the handlers call is what the deployed roles allow. Runs the real handlers in the local runtime over
 * every route and the whole aggregate path (batches, late events, dead letters, emission), records each AWS
 * SDK call they send (function, action, resource, partition keys), then checks every call against the
 * synthesized CloudFormation template: the role policy of the function that made it must allow the action,
 * on that resource, under the policy's conditions (`dynamodb:LeadingKeys`).
 *
 * This is the test that fails when a handler calls something its role lacks: it is independent of the
 * permission declarations both sides are built from, because it reads the template, not the declarations.
 */
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringLike } from '../../lambdas/adapters/permissions.ts';
import type { AwsCall } from '../../local/aws-twin.ts';
import { FUNCTION_NAMES, type LocalPipeline } from '../../local/pipeline.ts';
import { buildEddyApp, type EddyFixture, policyStatements } from '../cdk/eddy-app-fixture.ts';
import { Api, startPipeline } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;
let fx: EddyFixture;
const calls: AwsCall[] = [];

beforeAll(async () => {
  [pipeline, fx] = await Promise.all([
    startPipeline({ shards: 1, recordAwsCalls: (call) => calls.push(call) }),
    buildEddyApp(),
  ]);
  api = new Api(pipeline);
  await exerciseEveryPath();
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

/** Every route, and every step of the aggregate path, at least once. */
async function exerciseEveryPath(): Promise<void> {
  const t0 = Date.now() - 3_600_000;
  const start = t0 - (t0 % 60_000);
  const bid = (auction: number, bidder: number, dateTime: number) => ({
    type: 'bid',
    auction,
    bidder,
    price: 10,
    channel: 'web',
    dateTime,
  });
  // Ingest: a key claimed then replayed, a partly bad request, a wholly bad one.
  expect((await api.post([bid(1, 1, start), bid(2, 2, start + 1_000)], { 'Idempotency-Key': 'grants-1' })).status).toBe(
    202,
  );
  expect((await api.post([bid(1, 1, start)], { 'Idempotency-Key': 'grants-1' })).status).toBe(202);
  expect((await api.post([bid(3, 3, start + 2_000), { type: 'bid' }])).status).toBe(207);
  expect((await api.post([{ type: 'bid' }])).status).toBe(400);
  // Refused as a whole: counted as a rejected request.
  expect((await api.post('[')).status).toBe(400);
  await api.post([{ type: 'person', state: 'OR', dateTime: start + 3_000 }]);
  // A record another producer wrote that cannot be read: a dead letter.
  const put = await pipeline.kinesis.send(
    new PutRecordCommand({ StreamName: pipeline.streamName, PartitionKey: 'x', Data: Buffer.from('not json') }),
  );
  // The on-failure function's path (it reads the range back and records it), with the message the event
  // source mapping would send had it given up on that record.
  const arrival = new Date().toISOString();
  await pipeline.onFailure.send({
    requestContext: {
      requestId: 'grants',
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION_NAMES.aggregate}`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    version: '1.0',
    timestamp: arrival,
    KinesisBatchInfo: {
      shardId: put.ShardId!,
      startSequenceNumber: put.SequenceNumber!,
      endSequenceNumber: put.SequenceNumber!,
      approximateArrivalOfFirstRecord: arrival,
      approximateArrivalOfLastRecord: arrival,
      batchSize: 1,
      streamArn: pipeline.streamArn,
    },
  });
  // Far enough ahead for the windows above to turn final and be emitted (raising the emitted-through mark).
  await api.post([bid(4, 4, start + 120_000)]);
  await api.drained();
  await waitFor(async () => {
    const res = await api.get('/emitted?view=bids_per_auction');
    return res.body.results.length > 0;
  });
  // Late: its window is final.
  await api.post([bid(5, 5, start + 500)]);
  await api.drained();
  const routes = ['/health', '/views', '/status', '/late', '/dead-letters', '/failed-batches'];
  for (const route of [...routes, '/emitted?view=bids_per_auction']) {
    expect((await api.get(route)).status, route).toBe(200);
  }
  for (const view of pipeline.config.spec.views.map((v) => v.name)) {
    expect((await api.get(`/views/${view}/results`)).status, view).toBe(200);
  }
  // A window whose groups were all published (the outbox), and one still open (entries, then panes).
  for (const window of [start, start + 120_000]) {
    for (const view of ['bids_per_auction', 'hot_auctions']) {
      expect((await api.get(`/views/${view}/groups?window=${window}`)).status, `${view} ${window}`).toBe(200);
    }
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const roleOf = (functionName: string): iam.IRole => {
  const name = Object.entries(FUNCTION_NAMES).find(([, n]) => n === functionName)?.[0] as keyof typeof FUNCTION_NAMES;
  return fx.stateless[name].role!;
};

/** The local ARN a template resource expression stands for, by the stateful resource it refers to. */
function localArnOf(resource: unknown): string {
  if (resource === '*') return '*';
  const text = JSON.stringify(resource);
  if (/StateTable[^"]*StreamArn/.test(text)) return `${tableArn()}/stream/*`;
  if (/StateTable[^"]*Arn/.test(text)) return tableArn();
  if (/EventStream[^"]*Arn/.test(text)) return pipeline.streamArn;
  return `(not a resource of the local runtime: ${text})`;
}

const tableArn = () => `arn:aws:dynamodb:us-east-1:000000000000:table/${pipeline.tableName}`;

/** Why the template's policy for the call's function does not allow it, or undefined when it does. */
function denialOf(call: AwsCall): string | undefined {
  const statements = policyStatements(fx.statelessTemplate, roleOf(call.functionName));
  const allowed = statements.some((statement) => {
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    if (!actions.some((pattern) => stringLike(pattern.toLowerCase(), call.action.toLowerCase()))) return false;
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    if (!resources.some((r) => stringLike(localArnOf(r), call.resource))) return false;
    return Object.entries(statement.Condition ?? {}).every(([operator, conditions]) =>
      Object.entries(conditions).every(([key, values]) => {
        const patterns = Array.isArray(values) ? values : [values];
        if (operator !== 'ForAllValues:StringLike' || key !== 'dynamodb:LeadingKeys') return false;
        return call.leadingKeys.every((k) => patterns.some((p) => stringLike(p, k)));
      }),
    );
  });
  if (allowed) return undefined;
  const keys = call.leadingKeys.length > 0 ? ` (partition keys ${call.leadingKeys.join(', ')})` : '';
  return `${call.functionName}: ${call.action} on ${call.resource}${keys} is not allowed by its role's policy`;
}

describe('AWS calls the handlers make', () => {
  it('are each allowed by the calling function’s role policy in the synthesized template', () => {
    const seen = new Map<string, AwsCall>();
    for (const call of calls) seen.set(`${call.functionName} ${call.action} ${call.leadingKeys.join(',')}`, call);
    const denials = [...seen.values()].map(denialOf).filter((d) => d !== undefined);
    expect(denials).toEqual([]);
  });

  it('cover ingest, query, aggregate and on-failure, including the emitted-through watermark', () => {
    const byFunction = (name: string) => new Set(calls.filter((c) => c.functionName === name).map((c) => c.action));
    expect(byFunction(FUNCTION_NAMES.ingest)).toEqual(
      new Set(['kinesis:PutRecords', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']),
    );
    expect(byFunction(FUNCTION_NAMES.query)).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(byFunction(FUNCTION_NAMES.onFailure)).toEqual(
      new Set(['kinesis:GetShardIterator', 'kinesis:GetRecords', 'dynamodb:PutItem']),
    );
    const pipelineItem = calls.filter(
      (c) => c.functionName === FUNCTION_NAMES.aggregate && c.leadingKeys[0] === 'pipeline',
    );
    expect(new Set(pipelineItem.map((c) => c.action))).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
  });

  it('were all allowed by the local runtime, which holds each function to the same grants', () => {
    expect(calls.filter((c) => !c.allowed)).toEqual([]);
  });
});

describe('limits DynamoDB enforces and dynalite does not', () => {
  it('answers 400 naming the parameter when a group value is too long to be a stored group key', async () => {
    const res = await api.get(`/views/bids_per_auction/results?auction=${'a'.repeat(2_100)}`);

    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^auction: group values too long/);
  });
});
