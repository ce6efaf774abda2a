/**
 * Compacted windows (lambdas/core/pane-log.ts):
 * - the window item, `wins|<view>` sorted by `<windowEnd>|<windowStart>|<round>`: written after its chunks, so
 *   it says they are all there; listing them in windowEnd order is what GET /emitted pages through;
 * - its chunks, `win|<view>|<windowStart>|<round>` sorted by the lowest group hash each covers: the chunk of
 *   a group is the one with the greatest sort key at or below its hash. Each chunk is written once (a
 *   conditional put), so the table's stream carries it once to the publish function;
 * - how far the view is compacted, `wins|<view>` / `~through`;
 * - views with an anomaly detector: the per-group detector states after the window, `det|<view>|<windowStart>|
 *   <round>`, chunked by group hash like the results and written before the window item too.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../../core/concurrency.ts';
import { HASH_END, hashKey, type ResultChunk } from '../../core/pane-log.ts';
import type { CompactedPage, CompactedStore, CompactedWindow } from '../../core/store.ts';
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

const ROUND_DIGITS = 3;
const THROUGH_SK = '~through';

function windowsPk(viewId: string): string {
  return `wins|${viewId}`;
}

/** A compacted window's sort key: what listCompacted's cursors hold. */
export function compactedWindowKey(w: Pick<CompactedWindow, 'windowEnd' | 'windowStart' | 'round'>): string {
  return windowSk(w.windowEnd, w.windowStart, w.round);
}

/** The sort-key bounds of listCompacted: [from, until), after the cursor if there is one. */
export function compactedListBounds(fromEnd: number, untilEnd: number, cursor: string | null) {
  return {
    from: cursor ? `${cursor}\u0000` : timeKey(fromEnd),
    until: timeKey(untilEnd),
  };
}

function windowSk(windowEnd: number, windowStart: number, round: number): string {
  return `${pad(windowEnd, PANE_START_DIGITS)}|${pad(windowStart, PANE_START_DIGITS)}|${pad(round, ROUND_DIGITS)}`;
}

export function chunkPk(viewId: string, windowStart: number, round: number): string {
  return `win|${viewId}|${pad(windowStart, PANE_START_DIGITS)}|${pad(round, ROUND_DIGITS)}`;
}

export function detectorStatesPk(viewId: string, windowStart: number, round: number): string {
  return `det|${viewId}|${pad(windowStart, PANE_START_DIGITS)}|${pad(round, ROUND_DIGITS)}`;
}

/** A chunk's item in partition `pk`: the rows for group hashes [lo, hi). */
function chunkOf(pk: string, chunk: ResultChunk, expiresAtS: number): Item {
  return {
    pk: S(pk),
    sk: S(hashKey(chunk.lo)),
    hi: N(chunk.hi),
    n: N(chunk.results),
    d: { B: chunk.data },
    expiresAt: N(expiresAtS),
  };
}

/** A chunk of detector states (nothing is published from these: no `pub`). */
export function detectorStatesItem(w: CompactedWindow, chunk: ResultChunk, expiresAtS: number): Item {
  return chunkOf(detectorStatesPk(w.viewId, w.windowStart, w.round), chunk, expiresAtS);
}

/** The sort key below which getLatestCompacted looks. */
export function compactedBefore(beforeEnd: number): string {
  return timeKey(beforeEnd);
}

/** The window item (the in-memory store bills the same items). */
export function compactedWindowItem(w: CompactedWindow, expiresAtS: number): Item {
  const detector: Item = w.detector ? { ds: S(w.detector.signature), dc: N(w.detector.chunks) } : {};
  return {
    ...detector,
    pk: S(windowsPk(w.viewId)),
    sk: S(windowSk(w.windowEnd, w.windowStart, w.round)),
    view: S(w.view),
    gb: S(JSON.stringify(w.groupBy)),
    ws: N(w.windowStart),
    we: N(w.windowEnd),
    r: N(w.round),
    c: N(w.chunks),
    n: N(w.results),
    pub: { BOOL: w.publish },
    at: N(w.emittedAt),
    expiresAt: N(expiresAtS),
  };
}

/** A chunk item: also what the publish function reads from the table's stream. */
export function chunkItem(w: CompactedWindow, chunk: ResultChunk, expiresAtS: number): Item {
  return {
    ...chunkOf(chunkPk(w.viewId, w.windowStart, w.round), chunk, expiresAtS),
    view: S(w.view),
    gb: S(JSON.stringify(w.groupBy)),
    pub: { BOOL: w.publish },
    at: N(w.emittedAt),
  };
}

function windowFromItem(viewId: string, item: Item): CompactedWindow {
  return {
    viewId,
    view: str(item.view),
    groupBy: JSON.parse(item.gb?.S ?? '[]') as string[],
    windowStart: num(item.ws),
    windowEnd: num(item.we),
    round: num(item.r),
    chunks: num(item.c),
    results: num(item.n),
    publish: item.pub?.BOOL === true,
    emittedAt: num(item.at),
    ...(item.ds ? { detector: { signature: str(item.ds), chunks: num(item.dc) } } : {}),
  };
}

export function chunkFromItem(item: Item): ResultChunk {
  return {
    lo: Number.parseInt(str(item.sk), 16),
    hi: num(item.hi),
    results: num(item.n),
    data: item.d?.B ?? new Uint8Array(),
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const COMPACTED_PERMISSIONS = {
  putCompacted: table(['dynamodb:PutItem'], ['wins|*', 'win|*', 'det|*']),
  getCompacted: table(['dynamodb:GetItem'], ['wins|*']),
  getLatestCompacted: table(['dynamodb:Query'], ['wins|*']),
  getDetectorStates: table(['dynamodb:Query'], ['det|*']),
  listCompacted: table(['dynamodb:Query'], ['wins|*']),
  getChunks: table(['dynamodb:Query'], ['win|*']),
  getChunk: table(['dynamodb:Query'], ['win|*']),
  getCompactedThrough: table(['dynamodb:GetItem'], ['wins|*']),
  raiseCompactedThrough: table(['dynamodb:UpdateItem'], ['wins|*']),
} as const satisfies Record<string, Permission>;

export class DynamoCompactedStore extends TableItems implements CompactedStore {
  async putCompacted(
    w: CompactedWindow,
    chunks: readonly ResultChunk[],
    expiresAtS: number,
    detectorStates: readonly ResultChunk[] = [],
  ): Promise<boolean> {
    const items = [
      ...chunks.map((chunk) => chunkItem(w, chunk, expiresAtS)),
      ...detectorStates.map((chunk) => detectorStatesItem(w, chunk, expiresAtS)),
    ];
    await forEachLimited(items, WRITE_CONCURRENCY, async (item) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: item,
            // Once: the stream publishes each chunk when it is first written.
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        // An earlier attempt wrote this chunk: a final window's results never change, so it is the same.
        if (!isConditionFailure(err)) throw err;
      }
    });
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: compactedWindowItem({ ...w, chunks: chunks.length }, expiresAtS),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getCompacted(
    viewId: string,
    windowEnd: number,
    windowStart: number,
    round: number,
  ): Promise<CompactedWindow | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: S(windowsPk(viewId)), sk: S(windowSk(windowEnd, windowStart, round)) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? windowFromItem(viewId, out.Item) : null;
  }

  async getLatestCompacted(viewId: string, beforeEnd: number): Promise<CompactedWindow | null> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk < :before',
        ExpressionAttributeValues: { ':pk': S(windowsPk(viewId)), ':before': S(compactedBefore(beforeEnd)) },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    return item ? windowFromItem(viewId, item) : null;
  }

  async getDetectorStates(w: CompactedWindow): Promise<ResultChunk[]> {
    if (!w.detector) return [];
    return this.allChunks(detectorStatesPk(w.viewId, w.windowStart, w.round), true);
  }

  /** Every chunk of a partition, in hash order. */
  private async allChunks(pk: string, consistent: boolean): Promise<ResultChunk[]> {
    const chunks: ResultChunk[] = [];
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': S(pk) },
      ...(consistent ? { ConsistentRead: true } : {}),
    });
    for await (const item of items) chunks.push(chunkFromItem(item));
    return chunks;
  }

  async listCompacted(
    viewId: string,
    fromEnd: number,
    untilEnd: number,
    limit: number,
    cursor: string | null,
  ): Promise<CompactedPage> {
    const { from, until } = compactedListBounds(fromEnd, untilEnd, cursor);
    if (from >= until) return { windows: [], nextCursor: cursor };
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :until',
        ExpressionAttributeValues: { ':pk': S(windowsPk(viewId)), ':from': S(from), ':until': S(until) },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const items = (out.Items ?? []).filter((item) => str(item.sk) < until);
    const last = items[items.length - 1];
    return { windows: items.map((item) => windowFromItem(viewId, item)), nextCursor: last ? str(last.sk) : cursor };
  }

  async getChunks(w: CompactedWindow): Promise<ResultChunk[]> {
    return this.allChunks(chunkPk(w.viewId, w.windowStart, w.round), false);
  }

  async getChunk(w: CompactedWindow, hash: number): Promise<ResultChunk | null> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk <= :hash',
        ExpressionAttributeValues: { ':pk': S(chunkPk(w.viewId, w.windowStart, w.round)), ':hash': S(hashKey(hash)) },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    if (!item) return null;
    const chunk = chunkFromItem(item);
    return hash < chunk.hi && chunk.hi <= HASH_END ? chunk : null;
  }

  async getCompactedThrough(viewId: string): Promise<number | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: S(windowsPk(viewId)), sk: S(THROUGH_SK) },
        ConsistentRead: true,
      }),
    );
    return nullableNum(out.Item?.t);
  }

  async raiseCompactedThrough(viewId: string, readyAt: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(windowsPk(viewId)), sk: S(THROUGH_SK) },
          UpdateExpression: 'SET t = :t',
          ConditionExpression: 'attribute_not_exists(t) OR t < :t',
          ExpressionAttributeValues: { ':t': N(readyAt) },
        }),
      );
    } catch (err) {
      // Another emitter raised it at least as far.
      if (!isConditionFailure(err)) throw err;
    }
  }
}
