/** Record origins of keyed requests (`rec|<part>|<key>`). */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import type { RecordOriginStore } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, isConditionFailure, N, S, TableItems, table, WRITE_CONCURRENCY } from './table.ts';

/** Origins are claimed for longer than idempotency keys live: a retry never outlives the key it repeats. */
const RECORD_ORIGIN_TTL_S = 2 * 86_400;

/** The item of a record origin claimed at `nowMs`, as claimRecordOrigins writes it. */
export function recordOriginItem(origin: string, seq: string, nowMs: number): Item {
  const expiresAt = Math.floor(nowMs / 1000) + RECORD_ORIGIN_TTL_S;
  return { pk: S(`rec|${origin}`), sk: S('-'), seq: S(seq), expiresAt: N(expiresAt) };
}

/** The calls each method makes, and the partition keys it touches. */
export const RECORD_ORIGIN_PERMISSIONS = {
  claimRecordOrigins: table(['dynamodb:PutItem'], ['rec|*']),
} as const satisfies Record<string, Permission>;

export class DynamoRecordOriginStore extends TableItems implements RecordOriginStore {
  async claimRecordOrigins(claims: ReadonlyArray<{ origin: string; seq: string }>): Promise<Set<string>> {
    const taken = new Set<string>();
    const nowMs = Date.now();
    await forEachLimited(claims, WRITE_CONCURRENCY, async ({ origin, seq }) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: recordOriginItem(origin, seq, nowMs),
            // Owned by this record already (a retry of its batch) or by nobody yet.
            ConditionExpression: 'attribute_not_exists(pk) OR seq = :seq',
            ExpressionAttributeValues: { ':seq': S(seq) },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        taken.add(origin);
      }
    });
    return taken;
  }
}
