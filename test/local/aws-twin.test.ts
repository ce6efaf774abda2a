/**
 * The local runtime's twin of what AWS enforces on a function's SDK calls. Every refusal here happens before
 * the request leaves the client, so no emulator is needed; the allowed path is exercised end to end by
 * test/e2e/grants.test.ts.
 */
import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from '../../lambdas/adapters/aws-clients.ts';
import { INGEST_PERMISSIONS } from '../../lambdas/ingest/permissions.ts';
import { QUERY_PERMISSIONS } from '../../lambdas/query/permissions.ts';
import { installAwsTwin, runAsInvocation } from '../../local/aws-twin.ts';

const TABLE = { name: 'eddy-state', arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/eddy-state' };
const STREAM = { name: 'eddy-events', arn: 'arn:aws:kinesis:us-east-1:000000000000:stream/eddy-events' };
const saved = { ...process.env };

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Nothing listens here: a call the twin let through would fail to connect, not succeed.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  });
  installAwsTwin({
    functions: { 'eddy-ingest': INGEST_PERMISSIONS, 'eddy-query': QUERY_PERMISSIONS },
    resources: { table: TABLE, stream: STREAM },
  });
});
afterAll(() => {
  process.env = saved;
});

const as = <T>(functionName: string, call: () => Promise<T>, timedOut = false) =>
  runAsInvocation({ functionName, timedOut }, call);
const S = (s: string) => ({ S: s });

describe('AWS twin', () => {
  it('refuses a table write outside the function’s partition keys with AccessDeniedException', async () => {
    const dynamodb = createDynamoClient();
    const put = new PutItemCommand({ TableName: TABLE.name, Item: { pk: S('pane|v@1|["1"]'), sk: S('0') } });

    await expect(as('eddy-ingest', () => dynamodb.send(put))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `eddy-ingest is not authorized to perform: dynamodb:PutItem on resource: ${TABLE.arn}`,
      ),
    });
  });

  it('refuses an action the function is not granted at all', async () => {
    const kinesis = createKinesisClient();
    const put = new PutRecordsCommand({
      StreamName: STREAM.name,
      Records: [{ Data: Buffer.from('x'), PartitionKey: 'p' }],
    });

    await expect(as('eddy-query', () => kinesis.send(put))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`kinesis:PutRecords on resource: ${STREAM.arn}`),
    });
  });

  it('refuses every call of a function that was granted nothing', async () => {
    const dynamodb = createDynamoClient();
    const get = new GetItemCommand({ TableName: TABLE.name, Key: { pk: S('ingest'), sk: S('0') } });

    await expect(as('eddy-unknown', () => dynamodb.send(get))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('lets a granted call through to the service', async () => {
    const dynamodb = createDynamoClient();
    const get = new GetItemCommand({ TableName: TABLE.name, Key: { pk: S('ingest'), sk: S('0') } });

    // Past the twin, the call reaches the (absent) endpoint: a connection error, not a refusal.
    const error = await as('eddy-query', () => dynamodb.send(get)).catch((err: Error) => err);
    expect((error as Error).name).not.toBe('AccessDeniedException');
  });

  it('refuses a partition key over DynamoDB’s 2,048 bytes with ValidationException, as DynamoDB does', async () => {
    const dynamodb = createDynamoClient();
    const query = new QueryCommand({
      TableName: TABLE.name,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': S(`log|v@1|${'x'.repeat(2_100)}`) },
    });

    await expect(as('eddy-query', () => dynamodb.send(query))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Size of hashkey has exceeded the maximum size limit of2048 bytes'),
    });
  });

  it('refuses calls from an invocation that passed its timeout', async () => {
    const dynamodb = createDynamoClient();
    const get = new GetItemCommand({ TableName: TABLE.name, Key: { pk: S('ingest'), sk: S('0') } });

    await expect(as('eddy-query', () => dynamodb.send(get), true)).rejects.toMatchObject({
      name: 'InvocationTimedOut',
    });
  });
});
