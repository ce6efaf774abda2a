/** Pane partials (`pane|<view>|<group>`, sorted by pane start and shard): a group's panes are one Query. */
import { BatchGetItemCommand, type BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { forEachLimited, sleep } from '../../core/concurrency.ts';
import { paneKey } from '../../core/pane.ts';
import type { PaneRef, PaneStore, StoredPane } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, N, num, PANE_START_DIGITS, pad, S, str, TableItems, table, WRITE_CONCURRENCY } from './table.ts';

/** BatchGetItem takes at most 100 keys a call. */
export const BATCH_GET_LIMIT = 100;
function panePk(viewId: string, groupKey: string): string {
  return `pane|${viewId}|${groupKey}`;
}

function paneSk(paneStart: number, shardId: string): string {
  return `${pad(paneStart, PANE_START_DIGITS)}|${shardId}`;
}

/** The key of one shard's item of a pane. */
export function paneItemKey(ref: PaneRef, shardId: string): Item {
  return { pk: S(panePk(ref.viewId, ref.groupKey)), sk: S(paneSk(ref.paneStart, shardId)) };
}

/** The item of one shard's partial of a pane, as putPanes writes it (`updatedAtMs`: when it was written). */
export function paneItem(pane: StoredPane, updatedAtMs: number): Item {
  return {
    ...paneItemKey(pane, pane.shardId),
    view: S(pane.viewId),
    gk: S(pane.groupKey),
    g: S(JSON.stringify(pane.group)),
    ps: N(pane.paneStart),
    sh: S(pane.shardId),
    seq: S(pane.seq),
    n: N(pane.count),
    t0: N(pane.minTime),
    t1: N(pane.maxTime),
    m: S(JSON.stringify(pane.partials)),
    u: N(updatedAtMs),
  };
}

function paneFromItem(item: Item): StoredPane {
  return {
    viewId: str(item.view),
    groupKey: str(item.gk),
    group: JSON.parse(str(item.g)) as (string | null)[],
    paneStart: num(item.ps),
    shardId: str(item.sh),
    seq: str(item.seq),
    count: num(item.n),
    minTime: num(item.t0),
    maxTime: num(item.t1),
    partials: JSON.parse(str(item.m)) as Record<string, unknown>,
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const PANE_PERMISSIONS = {
  getPanes: table(['dynamodb:BatchGetItem'], ['pane|*']),
  putPanes: table(['dynamodb:PutItem'], ['pane|*']),
  queryPanes: table(['dynamodb:Query'], ['pane|*']),
} as const satisfies Record<string, Permission>;

export class DynamoPaneStore extends TableItems implements PaneStore {
  async getPanes(shardId: string, refs: readonly PaneRef[]): Promise<Map<string, StoredPane>> {
    const found = new Map<string, StoredPane>();
    for (let i = 0; i < refs.length; i += BATCH_GET_LIMIT) {
      let keys: Item[] | undefined = refs.slice(i, i + BATCH_GET_LIMIT).map((r) => paneItemKey(r, shardId));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1_000, 25 * 2 ** attempt));
        if (attempt > 10)
          throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${attempt} attempts`);
        const out: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const pane = paneFromItem(item);
          found.set(paneKey(pane), pane);
        }
        // UnprocessedKeys is not an error: DynamoDB throttled part of the batch; ask again for the rest.
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  private async putPane(pane: StoredPane, expectedSeq: string | null): Promise<void> {
    const item = paneItem(pane, Date.now());
    const condition =
      expectedSeq === null
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: 'seq = :prev', ExpressionAttributeValues: { ':prev': S(expectedSeq) } };
    await this.conditionalPut(item, condition, `pane ${item.pk!.S} ${item.sk!.S}`);
  }

  /** Writes many panes concurrently (bounded), each conditional on its own expected sequence number. */
  async putPanes(writes: ReadonlyArray<{ pane: StoredPane; expectedSeq: string | null }>): Promise<void> {
    await forEachLimited(writes, WRITE_CONCURRENCY, (w) => this.putPane(w.pane, w.expectedSeq));
  }

  async *queryPanes(viewId: string, groupKey: string, fromPane: number, toPane: number): AsyncIterable<StoredPane> {
    if (toPane <= fromPane) return;
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': S(panePk(viewId, groupKey)),
        ':from': S(pad(Math.max(0, fromPane), PANE_START_DIGITS)),
        // '|' sorts after every digit: this bound takes every shard of the last pane below `toPane`.
        ':to': S(`${pad(toPane - 1, PANE_START_DIGITS)}|~`),
      },
      // Strongly consistent: the emitter reads a window right after a batch wrote it, and publishes what
      // it reads once and for all.
      ConsistentRead: true,
    });
    for await (const item of items) yield paneFromItem(item);
  }
}
