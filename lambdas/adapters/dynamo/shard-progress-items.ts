/** Shard progress (`shard`, one item per shard) and the emitted-through watermark (`pipeline`). */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DELTA_BUCKETS } from '../../core/pane-log.ts';
import type { DeltaIntent, ShardProgressStore, ShardState } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, isConditionFailure, N, nullableNum, num, S, str, TableItems, table } from './table.ts';

/**
 * Above this, an intent is stored coarsely: a batch that spans many panes (a backfill of old events) would
 * otherwise list more keys than a 400 KB item holds.
 */
const MAX_EXACT_INTENT_CHARS = 64_000;

/**
 * An intent as stored. Exactly: keys grouped by view, `[paneStart, bucket, parts, fromPart]` each. Coarsely:
 * per view, the pane starts as runs `[first, step, count]`, every bucket, and the most parts of any key: a
 * superset of the keys, which is all a later attempt needs (deleting an item that is not there is harmless).
 */
export function encodeIntent(intent: DeltaIntent): string {
  const byView: Record<string, number[][]> = {};
  for (const k of intent.keys) {
    const rows = byView[k.viewId] ?? [];
    rows.push([k.paneStart, k.bucket, k.parts, k.fromPart ?? 0]);
    byView[k.viewId] = rows;
  }
  const exact = JSON.stringify({ f: intent.firstSeq, v: byView });
  if (exact.length <= MAX_EXACT_INTENT_CHARS) return exact;
  const coarse: Record<string, { runs: number[][]; parts: number }> = {};
  for (const [viewId, rows] of Object.entries(byView)) {
    const starts = [...new Set(rows.map((r) => r[0]!))].sort((a, b) => a - b);
    const runs: number[][] = [];
    for (const start of starts) {
      const run = runs[runs.length - 1];
      if (run && run[2] === 1) {
        run[1] = start - run[0]!;
        run[2] = 2;
      } else if (run && start === run[0]! + run[1]! * run[2]!) run[2]!++;
      else runs.push([start, 0, 1]);
    }
    coarse[viewId] = { runs, parts: Math.max(...rows.map((r) => r[2]!)) };
  }
  return JSON.stringify({ f: intent.firstSeq, c: coarse });
}

export function decodeIntent(text: string): DeltaIntent {
  const stored = JSON.parse(text) as {
    f: string;
    v?: Record<string, number[][]>;
    c?: Record<string, { runs: number[][]; parts: number }>;
  };
  const keys = Object.entries(stored.v ?? {}).flatMap(([viewId, rows]) =>
    rows.map(([paneStart, bucket, parts, fromPart]) => ({
      viewId,
      paneStart: paneStart!,
      bucket: bucket!,
      parts: parts!,
      fromPart: fromPart!,
    })),
  );
  for (const [viewId, { runs, parts }] of Object.entries(stored.c ?? {})) {
    for (const [first, step, count] of runs) {
      for (let i = 0; i < count!; i++) {
        for (let bucket = 0; bucket < DELTA_BUCKETS; bucket++) {
          keys.push({ viewId, paneStart: first! + i * step!, bucket, parts, fromPart: 0 });
        }
      }
    }
  }
  return { firstSeq: stored.f, keys };
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
