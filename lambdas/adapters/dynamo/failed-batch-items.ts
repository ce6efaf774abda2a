/** Batches an event source mapping gave up on (`failed`), and their redrives. */
import { PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type {
  FailedBatch,
  FailedBatchPage,
  FailedBatchRedrive,
  FailedBatchSource,
  FailedBatchStore,
  StoredFailedBatch,
} from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, isConditionFailure, N, nullableNum, num, pad, S, str, TableItems, table } from './table.ts';

function failedBatchFromItem(item: Item): StoredFailedBatch {
  const redrive: FailedBatchRedrive | null =
    item.rat === undefined
      ? null
      : {
          atMs: num(item.rat),
          shardId: str(item.rsh),
          processed: num(item.rp),
          late: num(item.rl),
          deadLettered: num(item.rd),
        };
  return {
    key: str(item.sk),
    source: str(item.src) as FailedBatchSource,
    streamArn: str(item.arn),
    shardId: str(item.sh),
    startSequenceNumber: str(item.s0),
    endSequenceNumber: str(item.s1),
    records: num(item.n),
    events: nullableNum(item.ev),
    reason: str(item.why),
    invokeCount: num(item.inv),
    failedAtMs: num(item.at),
    firstArrivalMs: num(item.a0),
    lastArrivalMs: num(item.a1),
    redrive,
  };
}

/** The sort key of a given-up batch: the on-failure record's own fields, so a second delivery writes the same key. */
export function failedBatchSortKey(batch: FailedBatch): string {
  return `${pad(batch.failedAtMs, 13)}|${batch.source}|${batch.shardId}|${batch.startSequenceNumber}`;
}

/** The item of a given-up batch, as putFailedBatch writes it and markFailedBatchRedriven then completes it. */
export function failedBatchItem(batch: FailedBatch): Item {
  const item: Item = {
    pk: S('failed'),
    sk: S(failedBatchSortKey(batch)),
    src: S(batch.source),
    arn: S(batch.streamArn),
    sh: S(batch.shardId),
    s0: S(batch.startSequenceNumber),
    s1: S(batch.endSequenceNumber),
    n: N(batch.records),
    why: S(batch.reason),
    inv: N(batch.invokeCount),
    at: N(batch.failedAtMs),
    a0: N(batch.firstArrivalMs),
    a1: N(batch.lastArrivalMs),
  };
  if (batch.events !== null) item.ev = N(batch.events);
  if (batch.redrive !== null) {
    item.rat = N(batch.redrive.atMs);
    item.rsh = S(batch.redrive.shardId);
    item.rp = N(batch.redrive.processed);
    item.rl = N(batch.redrive.late);
    item.rd = N(batch.redrive.deadLettered);
  }
  return item;
}

/** The calls each method makes, and the partition keys it touches. */
export const FAILED_BATCH_PERMISSIONS = {
  putFailedBatch: table(['dynamodb:PutItem'], ['failed']),
  listFailedBatches: table(['dynamodb:Query'], ['failed']),
  markFailedBatchRedriven: table(['dynamodb:UpdateItem'], ['failed']),
} as const satisfies Record<string, Permission>;

export class DynamoFailedBatchStore extends TableItems implements FailedBatchStore {
  async putFailedBatch(batch: FailedBatch): Promise<boolean> {
    // Only markFailedBatchRedriven records a redrive.
    const item = failedBatchItem({ ...batch, redrive: null });
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async listFailedBatches(limit: number, cursor: string | null): Promise<FailedBatchPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: cursor ? 'pk = :pk AND sk < :before' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S('failed'), ...(cursor ? { ':before': S(cursor) } : {}) },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const batches = (out.Items ?? []).map(failedBatchFromItem);
    const last = batches[batches.length - 1];
    return { batches, nextCursor: out.LastEvaluatedKey && last ? last.key : null };
  }

  async markFailedBatchRedriven(key: string, redrive: FailedBatchRedrive): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S('failed'), sk: S(key) },
          UpdateExpression: 'SET rat = :at, rsh = :shard, rp = :p, rl = :l, rd = :d',
          // Only a batch that was recorded, and only once: the first redrive's counters stay.
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(rat)',
          ExpressionAttributeValues: {
            ':at': N(redrive.atMs),
            ':shard': S(redrive.shardId),
            ':p': N(redrive.processed),
            ':l': N(redrive.late),
            ':d': N(redrive.deadLettered),
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
