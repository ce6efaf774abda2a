/**
 * Creates in the emulators what the CDK app declares: the event stream and the state table. The on-failure
 * queue has no local emulator; its stand-in is local/on-failure-destination.ts.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException as TableInUse,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException as StreamInUse,
} from '@aws-sdk/client-kinesis';
import { TABLE_SCHEMA } from '../lambdas/adapters/table-schema.ts';

export interface LocalStream {
  readonly streamName: string;
  readonly streamArn: string;
  /** Tells a recreated stream from the one a saved checkpoint belongs to. */
  readonly createdAt: Date;
  readonly openShardCount: number;
}

const ACTIVE_TIMEOUT_MS = 10_000;

/** Creates the stream unless it exists (a persisted data dir), and waits until it is ACTIVE. */
export async function ensureStream(
  kinesis: KinesisClient,
  streamName: string,
  shardCount: number,
): Promise<LocalStream> {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 50) {
    throw new RangeError(`shard count must be an integer between 1 and 50 (given ${shardCount})`);
  }
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  } catch (err) {
    if (!(err instanceof StreamInUse)) throw err;
  }
  return waitFor(`stream ${streamName}`, async () => {
    const { StreamDescriptionSummary: s } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (s?.StreamStatus !== 'ACTIVE') return undefined;
    return {
      streamName,
      streamArn: s.StreamARN!,
      createdAt: s.StreamCreationTimestamp!,
      openShardCount: s.OpenShardCount ?? shardCount,
    };
  });
}

/** Creates the state table with the key schema the CDK stack uses, and waits until it is ACTIVE. */
export async function ensureTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof TableInUse)) throw err;
  }
  // dynalite has no TTL API (UpdateTimeToLive): expired idempotency keys simply stay, which only costs disk.
  await waitFor(`table ${tableName}`, async () => {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus === 'ACTIVE' ? true : undefined;
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`${what} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
