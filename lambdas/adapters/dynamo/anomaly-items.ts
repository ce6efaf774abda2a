/**
 * Anomalies, `anom|<view>` sorted by `<windowStart>|<group>`: one item per reported (group, window), written
 * once (a conditional put) before the window's compacted item, so the table's stream carries each to the
 * publish function once (lambdas/publish/handler.ts: the results bus and the Alerts topic). Listing a view's
 * anomalies in a time range is one Query; a group's is the same Query with a filter, as anomalies are rare.
 */
import { createHash } from 'node:crypto';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import type { AnomalyPage, AnomalyStore, StoredAnomaly } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import {
  type Item,
  isConditionFailure,
  N,
  num,
  PANE_START_DIGITS,
  pad,
  S,
  str,
  TableItems,
  table,
  timeKey,
  WRITE_CONCURRENCY,
} from './table.ts';

/** Group keys longer than this are named by their SHA-256 in the sort key (DynamoDB allows 1,024 bytes). */
const MAX_SK_GROUP_BYTES = 900;
/** Items examined per listing at most: a rare group's filter over a long range ends the page early. */
const MAX_EXAMINED = 2_000;

export function anomalyPk(viewId: string): string {
  return `anom|${viewId}`;
}

function anomalySk(windowStart: number, groupKey: string): string {
  const group =
    Buffer.byteLength(groupKey) <= MAX_SK_GROUP_BYTES
      ? groupKey
      : `#${createHash('sha256').update(groupKey).digest('hex')}`;
  return `${pad(windowStart, PANE_START_DIGITS)}|${group}`;
}

/** The sort-key bounds of listAnomalies: [from, until), after the cursor if there is one. */
export function anomalyListBounds(from: number, to: number, cursor: string | null) {
  return { from: cursor ? `${cursor}\u0000` : timeKey(from), until: timeKey(to) };
}

export function anomalyItem(viewId: string, a: StoredAnomaly, expiresAtS: number): Item {
  return {
    pk: S(anomalyPk(viewId)),
    sk: S(anomalySk(a.windowStart, a.groupKey)),
    view: S(a.view),
    gb: S(JSON.stringify(a.groupBy)),
    g: S(a.groupKey),
    ws: N(a.windowStart),
    we: N(a.windowEnd),
    m: S(a.measure),
    v: N(a.value),
    sc: N(a.score),
    lo: N(a.expected.low),
    hi: N(a.expected.high),
    at: N(a.detectedAt),
    expiresAt: N(expiresAtS),
  };
}

/** An anomaly item as stored, or as its stream image carries it (the publish function). */
export function anomalyFromItem(item: Item): StoredAnomaly {
  return {
    view: str(item.view),
    groupBy: JSON.parse(item.gb?.S ?? '[]') as string[],
    groupKey: str(item.g),
    windowStart: num(item.ws),
    windowEnd: num(item.we),
    measure: str(item.m),
    value: num(item.v),
    score: num(item.sc),
    expected: { low: num(item.lo), high: num(item.hi) },
    detectedAt: num(item.at),
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const ANOMALY_PERMISSIONS = {
  putAnomalies: table(['dynamodb:PutItem'], ['anom|*']),
  listAnomalies: table(['dynamodb:Query'], ['anom|*']),
} as const satisfies Record<string, Permission>;

export class DynamoAnomalyStore extends TableItems implements AnomalyStore {
  async putAnomalies(viewId: string, anomalies: readonly StoredAnomaly[], expiresAtS: number): Promise<void> {
    await forEachLimited(anomalies, WRITE_CONCURRENCY, async (a) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: anomalyItem(viewId, a, expiresAtS),
            // Once: a retried scoring finds the same anomaly, and the stream must alert once.
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    });
  }

  async listAnomalies(
    viewId: string,
    range: { readonly from: number; readonly to: number; readonly groupKey?: string },
    limit: number,
    cursor: string | null,
  ): Promise<AnomalyPage> {
    const { from, until } = anomalyListBounds(range.from, range.to, cursor);
    const anomalies: StoredAnomaly[] = [];
    let startKey: Item | undefined;
    let examined = 0;
    let last: string | null = cursor;
    if (from >= until) return { anomalies, nextCursor: null };
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :until',
          ExpressionAttributeValues: { ':pk': S(anomalyPk(viewId)), ':from': S(from), ':until': S(until) },
          ExclusiveStartKey: startKey,
          // The local alerts read up to the latest compacted window, whose anomalies were written just before it.
          ConsistentRead: true,
          // A group's listing skips other groups' items: reading those one Query at a time once its page is
          // nearly full took a round trip per item (up to MAX_EXAMINED of them for one request).
          Limit: range.groupKey === undefined ? limit - anomalies.length + 1 : MAX_EXAMINED - examined,
        }),
      );
      for (const item of out.Items ?? []) {
        const sk = str(item.sk);
        if (sk >= until) return { anomalies, nextCursor: null };
        const a = anomalyFromItem(item);
        if (range.groupKey === undefined || a.groupKey === range.groupKey) {
          if (anomalies.length === limit) return { anomalies, nextCursor: last };
          anomalies.push(a);
        }
        last = sk;
        examined++;
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && examined < MAX_EXAMINED);
    return { anomalies, nextCursor: startKey ? last : null };
  }
}
