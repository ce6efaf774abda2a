/**
 * The pane log's delta items (`log|<view>|<bucket>`, sorted by pane start, shard, first record and part): one
 * group's panes are one Query of its bucket, a window's panes one Query per bucket (lambdas/core/pane-log.ts).
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import type { DeltaItem, DeltaKey } from '../../core/pane-log.ts';
import type { PaneLogStore } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, N, PANE_START_DIGITS, pad, S, str, TableItems, table, WRITE_CONCURRENCY } from './table.ts';

const PART_DIGITS = 3;

function deltaPk(viewId: string, bucket: number): string {
  return `log|${viewId}|${bucket}`;
}

function deltaSk(paneStart: number, shardId: string, firstSeq: string, part: number): string {
  return `${pad(paneStart, PANE_START_DIGITS)}|${shardId}|${firstSeq}|${pad(part, PART_DIGITS)}`;
}

/** The item a delta is stored as (the in-memory store bills the same item). */
export function deltaItem(shardId: string, firstSeq: string, delta: DeltaItem, expiresAtS: number): Item {
  return {
    pk: S(deltaPk(delta.viewId, delta.bucket)),
    sk: S(deltaSk(delta.paneStart, shardId, firstSeq, delta.part)),
    d: { B: delta.data },
    expiresAt: N(expiresAtS),
  };
}

/** The keys of the items an intent lists. */
export function deltaItemKeys(shardId: string, firstSeq: string, keys: readonly DeltaKey[]): Item[] {
  return keys.flatMap((k) =>
    Array.from({ length: k.parts - (k.fromPart ?? 0) }, (_, i) => ({
      pk: S(deltaPk(k.viewId, k.bucket)),
      sk: S(deltaSk(k.paneStart, shardId, firstSeq, (k.fromPart ?? 0) + i)),
    })),
  );
}

export function deltaFromItem(item: Item): DeltaItem {
  const pk = str(item.pk);
  const sk = str(item.sk);
  const bar = pk.lastIndexOf('|');
  return {
    viewId: pk.slice(4, bar),
    bucket: Number(pk.slice(bar + 1)),
    paneStart: Number(sk.slice(0, PANE_START_DIGITS)),
    part: Number(sk.slice(sk.lastIndexOf('|') + 1)),
    data: item.d?.B ?? new Uint8Array(),
  };
}

/** The sort keys of a bucket's items with paneStart in [fromPane, toPane), both bounds included. */
export function deltaSkRange(fromPane: number, toPane: number): { from: string; to: string } {
  return {
    from: pad(Math.max(0, fromPane), PANE_START_DIGITS),
    // '|' sorts after every digit: this bound takes every item of the last pane below `toPane`.
    to: `${pad(toPane - 1, PANE_START_DIGITS)}|~`,
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const DELTA_PERMISSIONS = {
  putDeltas: table(['dynamodb:PutItem'], ['log|*']),
  deleteDeltas: table(['dynamodb:DeleteItem'], ['log|*']),
  queryDeltas: table(['dynamodb:Query'], ['log|*']),
} as const satisfies Record<string, Permission>;

export class DynamoPaneLogStore extends TableItems implements PaneLogStore {
  async putDeltas(shardId: string, firstSeq: string, items: readonly DeltaItem[], expiresAtS: number): Promise<void> {
    // Unconditional: the shard item's intent, written before, is what makes a retry replace these.
    await forEachLimited(items, WRITE_CONCURRENCY, async (delta) => {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: deltaItem(shardId, firstSeq, delta, expiresAtS) }),
      );
    });
  }

  async deleteDeltas(shardId: string, firstSeq: string, keys: readonly DeltaKey[]): Promise<void> {
    await forEachLimited(deltaItemKeys(shardId, firstSeq, keys), WRITE_CONCURRENCY, async (Key) => {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key }));
    });
  }

  async *queryDeltas(viewId: string, bucket: number, fromPane: number, toPane: number): AsyncIterable<DeltaItem> {
    if (toPane <= fromPane) return;
    const { from, to } = deltaSkRange(fromPane, toPane);
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': S(deltaPk(viewId, bucket)),
        ':from': S(from),
        ':to': S(to),
      },
      // Strongly consistent: the emitter reads a window right after a batch wrote it, and publishes what it
      // reads once and for all.
      ConsistentRead: true,
    });
    for await (const item of items) yield deltaFromItem(item);
  }
}
