/**
 * What every DynamoDB adapter of the state table shares: the attribute codecs, the conditional put that turns a
 * failed condition into a ConcurrentWriteError, and the permission helper. Item layouts are in
 * lambdas/adapters/dynamo-state-store.ts.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { ConcurrentWriteError } from '../../core/store.ts';
import type { Permission, TableAction } from '../permissions.ts';

export type Item = Record<string, AttributeValue>;

/** Pane starts (and other times in sort keys) are written with 15 digits, so they sort as numbers. */
export const PANE_START_DIGITS = 15;
/** Writes in flight at once per call: DynamoDB takes them in parallel, the SDK's sockets bound them. */
export const WRITE_CONCURRENCY = 32;

export const S = (s: string): AttributeValue => ({ S: s });
export const N = (n: number): AttributeValue => ({ N: String(n) });
export const num = (a: AttributeValue | undefined): number => Number(a?.N ?? '0');
export const nullableNum = (a: AttributeValue | undefined): number | null => (a?.N === undefined ? null : Number(a.N));
export const str = (a: AttributeValue | undefined): string => a?.S ?? '';

export function pad(n: number, digits: number): string {
  return String(n).padStart(digits, '0');
}

/** A time (epoch ms) as a bound on sort keys that start with a padded time: clamped to what the keys can hold. */
export function timeKey(t: number): string {
  return pad(Math.max(0, Math.min(t, 10 ** PANE_START_DIGITS - 1)), PANE_START_DIGITS);
}

export function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
}

/** A permission on the state table: these actions, on items whose partition key matches `leadingKeys`. */
export const table = (actions: TableAction[], leadingKeys: string[]): Permission => ({
  resource: 'table',
  actions,
  leadingKeys,
});

/** The table and its client, for the adapters of each kind of item. */
export class TableItems {
  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
  ) {}

  /** Every item a Query matches, across all its pages, in sort-key order. */
  protected async *queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): AsyncGenerator<Item> {
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  protected async conditionalPut(
    item: Item,
    condition: { ConditionExpression: string; ExpressionAttributeValues?: Item },
    what: string,
  ): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...condition }));
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new ConcurrentWriteError(`${what} was changed by another invocation; the batch will be retried`);
      }
      throw err;
    }
  }
}
