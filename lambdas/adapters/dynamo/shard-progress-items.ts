/** Shard progress (`shard`, one item per shard) and the emitted-through watermark (`pipeline`). */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DeltaIntent, ShardProgressStore, ShardState } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, isConditionFailure, N, nullableNum, num, S, str, TableItems, table } from './table.ts';

/** An intent as stored: keys grouped by view, `[paneStart, bucket, parts, fromPart]` each. */
function encodeIntent(intent: DeltaIntent): string {
  const byView: Record<string, number[][]> = {};
  for (const k of intent.keys) {
    const rows = byView[k.viewId] ?? [];
    rows.push([k.paneStart, k.bucket, k.parts, k.fromPart ?? 0]);
    byView[k.viewId] = rows;
  }
  return JSON.stringify({ f: intent.firstSeq, v: byView });
}

function decodeIntent(text: string): DeltaIntent {
  const { f, v } = JSON.parse(text) as { f: string; v: Record<string, number[][]> };
  const keys = Object.entries(v).flatMap(([viewId, rows]) =>
    rows.map(([paneStart, bucket, parts, fromPart]) => ({
      viewId,
      paneStart: paneStart!,
      bucket: bucket!,
      parts: parts!,
      fromPart: fromPart!,
    })),
  );
  return { firstSeq: f, keys };
}

function shardFromItem(item: Item): ShardState {
  return {
    intent: item.intent?.S ? decodeIntent(item.intent.S) : null,
    shardId: str(item.sk),
    seq: item.seq?.S ?? null,
    attemptedThrough: item.tried?.S ?? null,
    maxEventTime: nullableNum(item.maxT),
    watermarkFloor: nullableNum(item.floor),
    lastActivityMs: num(item.act),
    batches: num(item.batches),
    counters: {
      processed: num(item.processed),
      late: num(item.late),
      deadLettered: num(item.dead),
      duplicates: num(item.dups),
      lateByView: JSON.parse(item.lateByView?.S ?? '{}') as Record<string, number>,
    },
  };
}

/** The item of one shard's progress, as putShardState writes it. */
export function shardStateItem(state: ShardState): Item {
  const item: Item = {
    pk: S('shard'),
    sk: S(state.shardId),
    act: N(state.lastActivityMs),
    batches: N(state.batches),
    processed: N(state.counters.processed),
    late: N(state.counters.late),
    dead: N(state.counters.deadLettered),
    dups: N(state.counters.duplicates),
    lateByView: S(JSON.stringify(state.counters.lateByView)),
  };
  if (state.seq !== null) item.seq = S(state.seq);
  if (state.attemptedThrough !== null) item.tried = S(state.attemptedThrough);
  if (state.maxEventTime !== null) item.maxT = N(state.maxEventTime);
  if (state.watermarkFloor !== null) item.floor = N(state.watermarkFloor);
  if (state.intent) item.intent = S(encodeIntent(state.intent));
  return item;
}

/** The key of the emitted-through watermark's item. */
export const emittedThroughKey = (): Item => ({ pk: S('pipeline'), sk: S('emitted-through') });

/** The emitted-through watermark's item, as raiseEmittedThrough leaves it. */
export function emittedThroughItem(watermark: number): Item {
  return { ...emittedThroughKey(), wm: N(watermark) };
}

/** The calls each method makes, and the partition keys it touches. */
export const SHARD_PROGRESS_PERMISSIONS = {
  getShardStates: table(['dynamodb:Query'], ['shard']),
  putShardState: table(['dynamodb:PutItem'], ['shard']),
  getEmittedThrough: table(['dynamodb:GetItem'], ['pipeline']),
  raiseEmittedThrough: table(['dynamodb:UpdateItem'], ['pipeline']),
} as const satisfies Record<string, Permission>;

export class DynamoShardProgressStore extends TableItems implements ShardProgressStore {
  async getShardStates(): Promise<ShardState[]> {
    const states: ShardState[] = [];
    const items = this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': S('shard') },
      ConsistentRead: true,
    });
    for await (const item of items) states.push(shardFromItem(item));
    return states;
  }

  async putShardState(state: ShardState, expectedSeq: string | null, expectExisting: boolean): Promise<void> {
    const item = shardStateItem(state);
    const condition = !expectExisting
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : expectedSeq === null
        ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(seq)' }
        : { ConditionExpression: 'seq = :prev', ExpressionAttributeValues: { ':prev': S(expectedSeq) } };
    await this.conditionalPut(item, condition, `shard ${state.shardId}`);
  }

  async getEmittedThrough(): Promise<number | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: emittedThroughKey(),
        ConsistentRead: true,
      }),
    );
    return nullableNum(out.Item?.wm);
  }

  async raiseEmittedThrough(watermark: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: emittedThroughKey(),
          UpdateExpression: 'SET wm = :wm',
          ConditionExpression: 'attribute_not_exists(wm) OR wm < :wm',
          ExpressionAttributeValues: { ':wm': N(watermark) },
        }),
      );
    } catch (err) {
      // Already as high or higher: it only ever rises.
      if (!isConditionFailure(err)) throw err;
    }
  }
}
