/**
 * Open windows awaiting emission (`open|<view>`, sorted by `<readyAt>|<windowStart>|<tag>`): one entry per
 * window, whichever batch writes it. What is published is compacted-items.ts.
 */
import { DeleteItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import type { OpenWindows, OutboxStore } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import {
  type Item,
  isConditionFailure,
  N,
  nullableNum,
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

/** The items of open-window entries of a view, as putOpenWindows writes them: one per entry. */
export function openWindowItems(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Item[] {
  return entries.map((entry) => ({
    pk: S(`open|${viewId}`),
    // Deterministic per window and tag: every batch that touches the window writes the same item.
    sk: S(`${pad(entry.readyAt, PANE_START_DIGITS)}|${pad(entry.windowStart, PANE_START_DIGITS)}|${tag}`),
    ws: N(entry.windowStart),
    ra: N(entry.readyAt),
    ...(entry.round === undefined ? {} : { r: N(entry.round) }),
    ...(entry.prevCut === undefined ? {} : { pc: N(entry.prevCut) }),
  }));
}

/** Entries ready by `readyBy` are those whose sort key is below this (readyAt leads the key). */
export function openWindowsBefore(readyBy: number): string {
  return timeKey(readyBy + 1);
}

/** Where a session round's cut is kept: in the entries' partition, after every entry (`~` sorts last). */
export function roundCutKey(viewId: string, windowStart: number, round: number): Item {
  return { pk: S(`open|${viewId}`), sk: S(`~cut|${pad(windowStart, PANE_START_DIGITS)}|${round}`) };
}

/** The calls each method makes, and the partition keys it touches. */
export const OUTBOX_PERMISSIONS = {
  putOpenWindows: table(['dynamodb:PutItem'], ['open|*']),
  fixRoundCut: table(['dynamodb:UpdateItem'], ['open|*']),
  listOpenWindows: table(['dynamodb:Query'], ['open|*']),
  deleteOpenWindows: table(['dynamodb:DeleteItem'], ['open|*']),
} as const satisfies Record<string, Permission>;

export class DynamoOutboxStore extends TableItems implements OutboxStore {
  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void> {
    const items = openWindowItems(viewId, tag, entries);
    await forEachLimited(items, WRITE_CONCURRENCY, async (Item) => {
      try {
        // Once: every batch that touches a window writes the same entry; the first is enough.
        await this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    });
  }

  async fixRoundCut(viewId: string, windowStart: number, round: number, cut: number, expiresAtS: number) {
    const out = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: roundCutKey(viewId, windowStart, round),
        UpdateExpression: 'SET cut = if_not_exists(cut, :cut), expiresAt = :x',
        ExpressionAttributeValues: { ':cut': N(cut), ':x': N(expiresAtS) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return num(out.Attributes?.cut);
  }

  async listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]> {
    if (readyBy < 0) return [];
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk < :before',
        ExpressionAttributeValues: {
          ':pk': S(`open|${viewId}`),
          ':before': S(openWindowsBefore(readyBy)),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => ({
      key: str(item.sk),
      windowStart: num(item.ws),
      readyAt: num(item.ra),
      round: nullableNum(item.r) ?? undefined,
      prevCut: nullableNum(item.pc) ?? undefined,
    }));
  }

  async deleteOpenWindows(viewId: string, key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(`open|${viewId}`), sk: S(key) } }),
    );
  }
}
