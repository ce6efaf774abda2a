/** Open windows awaiting emission (`open|<view>`) and the emitted outbox (`emitted|<view>`). */
import { DeleteItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import type { EmittedPage, EmittedResult, OpenWindows, OutboxStore } from '../../core/store.ts';
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
  WRITE_CONCURRENCY,
} from './table.ts';

/** Emitted results stay readable for a week (TTL); consumers are expected to read them within minutes. */
const EMITTED_TTL_S = 7 * 86_400;
/** Open-pane entries are split so that each item stays well under 400 KB. */
const MAX_OPEN_GROUPS_JSON = 300_000;

function emittedFromItem(item: Item): EmittedResult {
  return {
    view: str(item.view),
    groupKey: str(item.gk),
    group: JSON.parse(str(item.g)) as Record<string, string | null>,
    windowStart: num(item.ws),
    windowEnd: num(item.we),
    measures: JSON.parse(str(item.m)) as Record<string, unknown>,
    emittedAt: num(item.at),
  };
}

/**
 * The items of a batch's open-window entries of a view, as putOpenWindows writes them: an item per chunk of an
 * entry's groups (none for an entry without groups).
 */
export function openWindowItems(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Item[] {
  const items: Item[] = [];
  for (const entry of entries) {
    let chunk: OpenWindows['groups'][number][] = [];
    let bytes = 0;
    let part = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      items.push({
        pk: S(`open|${viewId}`),
        // Deterministic per tag (shard and record) and window: a retried batch rewrites the same items.
        sk: S(`${pad(entry.readyAt, PANE_START_DIGITS)}|${pad(entry.windowStart, PANE_START_DIGITS)}|${tag}|${part++}`),
        ws: N(entry.windowStart),
        ra: N(entry.readyAt),
        groups: S(JSON.stringify(chunk.map((g) => [g.groupKey, g.group]))),
      });
      chunk = [];
      bytes = 0;
    };
    for (const g of entry.groups) {
      const size = Buffer.byteLength(g.groupKey) * 2 + 8;
      if (bytes + size > MAX_OPEN_GROUPS_JSON) flush();
      chunk.push(g);
      bytes += size;
    }
    flush();
  }
  return items;
}

/** The item of a published result, as putEmitted writes it. */
export function emittedItem(viewId: string, result: EmittedResult): Item {
  return {
    pk: S(`emitted|${viewId}`),
    sk: S(
      `${pad(result.windowEnd, PANE_START_DIGITS)}|${pad(result.windowStart, PANE_START_DIGITS)}|${result.groupKey}`,
    ),
    view: S(result.view),
    gk: S(result.groupKey),
    g: S(JSON.stringify(result.group)),
    ws: N(result.windowStart),
    we: N(result.windowEnd),
    m: S(JSON.stringify(result.measures)),
    at: N(result.emittedAt),
    expiresAt: N(Math.floor(result.emittedAt / 1000) + EMITTED_TTL_S),
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const OUTBOX_PERMISSIONS = {
  putOpenWindows: table(['dynamodb:PutItem'], ['open|*']),
  listOpenWindows: table(['dynamodb:Query'], ['open|*']),
  deleteOpenWindows: table(['dynamodb:DeleteItem'], ['open|*']),
  putEmitted: table(['dynamodb:PutItem'], ['emitted|*']),
  listEmitted: table(['dynamodb:Query'], ['emitted|*']),
  // Both read one window's items by sort-key prefix (GET /views/{view}/groups).
  listOpenWindowGroups: table(['dynamodb:Query'], ['open|*']),
  listEmittedWindow: table(['dynamodb:Query'], ['emitted|*']),
} as const satisfies Record<string, Permission>;

export class DynamoOutboxStore extends TableItems implements OutboxStore {
  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void> {
    const items = openWindowItems(viewId, tag, entries);
    await forEachLimited(items, WRITE_CONCURRENCY, async (Item) => {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item }));
    });
  }

  async listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]> {
    if (readyBy < 0) return [];
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk < :before',
        ExpressionAttributeValues: {
          ':pk': S(`open|${viewId}`),
          ':before': S(pad(Math.min(readyBy + 1, 10 ** PANE_START_DIGITS - 1), PANE_START_DIGITS)),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => ({
      key: str(item.sk),
      windowStart: num(item.ws),
      readyAt: num(item.ra),
      groups: (JSON.parse(str(item.groups)) as Array<[string, (string | null)[]]>).map(([groupKey, group]) => ({
        groupKey,
        group,
      })),
    }));
  }

  async deleteOpenWindows(viewId: string, key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(`open|${viewId}`), sk: S(key) } }),
    );
  }

  async putEmitted(viewId: string, result: EmittedResult): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: emittedItem(viewId, result),
          // A window is final, so its result never changes: the first write wins and repeats are no-ops.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async listEmitted(viewId: string, untilEnd: number, limit: number, cursor: string | null): Promise<EmittedPage> {
    const until = pad(Math.max(0, Math.min(untilEnd, 10 ** PANE_START_DIGITS - 1)), PANE_START_DIGITS);
    // Nothing is complete past the cursor yet: the consumer polls again with the same cursor.
    if (cursor !== null && cursor >= until) return { results: [], nextCursor: cursor };
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: cursor ? 'pk = :pk AND sk BETWEEN :after AND :until' : 'pk = :pk AND sk < :until',
        ExpressionAttributeValues: {
          ':pk': S(`emitted|${viewId}`),
          ':until': S(until),
          ...(cursor ? { ':after': S(`${cursor}\u0000`) } : {}),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const items = out.Items ?? [];
    const results = items.map(emittedFromItem);
    const last = items[items.length - 1];
    return { results, nextCursor: last ? str(last.sk) : cursor };
  }

  /**
   * The groups the open-window entries of one window list, each once (every batch that touched the window
   * wrote an entry). The entries of a window share the sort-key prefix `<readyAt>|<windowStart>|`, so this is
   * one Query of that prefix, however many windows the view holds. Once a window is emitted its entries are
   * gone: see `listEmittedWindow`.
   */
  async listOpenWindowGroups(viewId: string, readyAt: number, windowStart: number): Promise<OpenWindows['groups']> {
    const groups = new Map<string, OpenWindows['groups'][number]['group']>();
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
      ExpressionAttributeValues: {
        ':pk': S(`open|${viewId}`),
        ':window': S(`${pad(readyAt, PANE_START_DIGITS)}|${pad(windowStart, PANE_START_DIGITS)}|`),
      },
      ProjectionExpression: '#groups',
      ExpressionAttributeNames: { '#groups': 'groups' },
      // Strongly consistent: the emitter deletes an entry only after publishing its groups, and a reader
      // that lists the entries first and the published results second must see every group in one of them.
      ConsistentRead: true,
    });
    for await (const item of items) {
      for (const [groupKey, group] of JSON.parse(str(item.groups)) as Array<[string, (string | null)[]]>) {
        if (!groups.has(groupKey)) groups.set(groupKey, group);
      }
    }
    return [...groups].map(([groupKey, group]) => ({ groupKey, group }));
  }

  /** Every published result of one window: they share the sort-key prefix `<windowEnd>|<windowStart>|`. */
  async listEmittedWindow(viewId: string, windowStart: number, windowEnd: number): Promise<EmittedResult[]> {
    const results: EmittedResult[] = [];
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
      ExpressionAttributeValues: {
        ':pk': S(`emitted|${viewId}`),
        ':window': S(`${pad(windowEnd, PANE_START_DIGITS)}|${pad(windowStart, PANE_START_DIGITS)}|`),
      },
      ConsistentRead: true,
    });
    for await (const item of items) results.push(emittedFromItem(item));
    return results;
  }
}
