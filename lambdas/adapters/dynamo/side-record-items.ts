/** The side outputs (`late`, `dead`), split over items by bytes. */
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { SideRecord } from '../../core/batch-aggregator.ts';
import { forEachLimited } from '../../core/concurrency.ts';
import { isTooDeep, OMITTED_TOO_DEEP } from '../../core/nesting.ts';
import type { SideKind, SidePage, SideRecordStore, StoredSideRecord } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, N, num, pad, S, str, TableItems, table, WRITE_CONCURRENCY } from './table.ts';

/** Side records are kept 14 days (TTL), long enough to notice and replay late or bad data. */
const SIDE_RECORD_TTL_S = 14 * 86_400;
/** Bytes of entries per side item: well under DynamoDB's 400 KB item limit. */
const MAX_SIDE_BYTES = 300_000;

/**
 * The items of a batch's side records of one kind, as putSideRecords writes them at `nowMs`: each record's
 * entries over as many items as they need.
 */
export function sideRecordItems(
  kind: SideKind,
  shardId: string,
  records: readonly SideRecord[],
  nowMs: number,
): Item[] {
  const expiresAt = Math.floor(nowMs / 1000) + SIDE_RECORD_TTL_S;
  const items: Item[] = [];
  for (const record of records) {
    // A record's entries are split over as many items as they need (each well under 400 KB, in bytes);
    // an event too large to keep beside others keeps its reason and position, not its body.
    const parts: SideRecord['entries'][] = [[]];
    let bytes = 0;
    for (const entry of record.entries) {
      // A value nested too deeply to write as JSON would overflow the stack and fail the batch for ever.
      let kept = isTooDeep(entry.event) ? { ...entry, event: OMITTED_TOO_DEEP } : entry;
      let json = JSON.stringify(kept);
      if (Buffer.byteLength(json) > MAX_SIDE_BYTES) {
        kept = { ...entry, event: '(omitted: event too large to keep)' };
        json = JSON.stringify(kept);
      }
      const size = Buffer.byteLength(json) + 1;
      if (bytes + size > MAX_SIDE_BYTES) {
        parts.push([]);
        bytes = 0;
      }
      parts[parts.length - 1]!.push(kept);
      bytes += size;
    }
    parts.forEach((entries, part) => {
      items.push({
        pk: S(kind),
        // Deterministic: a retry writes the same items under the same keys, a no-op in effect.
        sk: S(`${pad(record.arrivalMs, 13)}|${shardId}|${record.seq}|${part}`),
        sh: S(shardId),
        seq: S(record.seq),
        at: N(record.arrivalMs),
        e: S(JSON.stringify(entries)),
        expiresAt: N(expiresAt),
      });
    });
  }
  return items;
}

/** The calls each method makes, and the partition keys it touches. */
export const SIDE_RECORD_PERMISSIONS = {
  putSideRecords: table(['dynamodb:PutItem'], ['late', 'dead']),
  listSideRecords: table(['dynamodb:Query'], ['late', 'dead']),
} as const satisfies Record<string, Permission>;

export class DynamoSideRecordStore extends TableItems implements SideRecordStore {
  async putSideRecords(kind: SideKind, shardId: string, records: readonly SideRecord[]): Promise<void> {
    const items = sideRecordItems(kind, shardId, records, Date.now());
    await forEachLimited(items, WRITE_CONCURRENCY, async (Item) => {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item }));
    });
  }

  async listSideRecords(kind: SideKind, limit: number, cursor: string | null): Promise<SidePage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: cursor ? 'pk = :pk AND sk < :cursor' : 'pk = :pk',
        ExpressionAttributeValues: cursor ? { ':pk': S(kind), ':cursor': S(cursor) } : { ':pk': S(kind) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    const items = out.Items ?? [];
    const records: StoredSideRecord[] = items.map((item) => ({
      shardId: str(item.sh),
      seq: str(item.seq),
      arrivalMs: num(item.at),
      entries: JSON.parse(str(item.e)) as StoredSideRecord['entries'],
    }));
    const last = items[items.length - 1];
    return { records, nextCursor: out.LastEvaluatedKey && last ? str(last.sk) : null };
  }
}
