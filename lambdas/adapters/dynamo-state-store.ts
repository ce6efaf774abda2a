/**
 * The state store on one DynamoDB table (string `pk`, `sk`). Item layouts:
 *
 * | item               | pk                          | sk                               |
 * |--------------------|-----------------------------|----------------------------------|
 * | pane partial       | `pane|<view>@<ver>|<group>` | `<paneStart, 15 digits>|<shard>` |
 * | shard progress     | `shard`                     | `<shardId>`                      |
 * | emitted through    | `pipeline`                  | `emitted-through`                |
 * | late / dead letter | `late` / `dead`             | `<arrival ms>|<shard>|<seq>`     |
 * | ingest counters    | `ingest`                    | `0`..`9` (spread over 10 items)  |
 * | window to emit     | `open|<view>@<ver>`         | `<readyAt>|<start>|<tag>|<n>`     |
 * | emitted result     | `emitted|<view>@<ver>`      | `<windowEnd>|<windowStart>|<group>` |
 * | idempotency key    | `idem|<key>`                | `-`                              |
 * | record origin      | `rec|<part>|<key>`          | `-`                              |
 * | given-up batch     | `failed`                    | `<failed at ms>|<source>|<shard>|<first seq>` |
 *
 * A group's panes sort by time under one partition key, so a results read is one Query. Pane and shard
 * items carry `seq`, the sequence number of the last record applied; writes are conditional on it, so an
 * item has one writer and a retried record is applied at most once.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SideRecord } from '../core/batch-aggregator.ts';
import { forEachLimited, sleep } from '../core/concurrency.ts';
import { isTooDeep, OMITTED_TOO_DEEP } from '../core/nesting.ts';
import { paneKey } from '../core/pane.ts';
import type { Permission, TableAction } from './permissions.ts';
import {
  ConcurrentWriteError,
  type EmittedPage,
  type EmittedResult,
  type FailedBatch,
  type FailedBatchPage,
  type FailedBatchRedrive,
  type FailedBatchSource,
  type IdempotencyClaim,
  type IngestCounts,
  type OpenWindows,
  type PaneRef,
  type ShardState,
  type SideKind,
  type SidePage,
  type StateStore,
  type StoredFailedBatch,
  type StoredPane,
  type StoredResponse,
  type StoredSideRecord,
} from './state-store.ts';

type Item = Record<string, AttributeValue>;

const PANE_START_DIGITS = 15;
const INGEST_COUNTER_ITEMS = 10;
/** Side records are kept 14 days (TTL), long enough to notice and replay late or bad data. */
const SIDE_RECORD_TTL_S = 14 * 86_400;
/** Bytes of entries per side item: well under DynamoDB's 400 KB item limit. */
const MAX_SIDE_BYTES = 300_000;
const BATCH_GET_LIMIT = 100;
/** Emitted results stay readable for a week (TTL); consumers are expected to read them within minutes. */
const EMITTED_TTL_S = 7 * 86_400;
/** Open-pane entries are split so that each item stays well under 400 KB. */
const MAX_OPEN_GROUPS_JSON = 300_000;
/** Producers retry within minutes; a day covers retries across an outage. */
const IDEMPOTENCY_TTL_S = 86_400;
/** Origins are claimed for longer than idempotency keys live: a retry never outlives the key it repeats. */
const RECORD_ORIGIN_TTL_S = 2 * 86_400;
/**
 * A claim whose request died (timeout, crash) may be taken over after this: just above the ingest function's
 * 10 s timeout, so no invocation that holds it can still be running. Taking over is safe even if its records
 * reached the stream: they carry their origin, and the aggregator drops the retry's repeats.
 */
const IDEMPOTENCY_PENDING_MS = 12_000;
const WRITE_CONCURRENCY = 32;

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const num = (a: AttributeValue | undefined): number => Number(a?.N ?? '0');
const nullableNum = (a: AttributeValue | undefined): number | null => (a?.N === undefined ? null : Number(a.N));
const str = (a: AttributeValue | undefined): string => a?.S ?? '';

function pad(n: number, digits: number): string {
  return String(n).padStart(digits, '0');
}

function panePk(viewId: string, groupKey: string): string {
  return `pane|${viewId}|${groupKey}`;
}

function paneSk(paneStart: number, shardId: string): string {
  return `${pad(paneStart, PANE_START_DIGITS)}|${shardId}`;
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

function shardFromItem(item: Item): ShardState {
  return {
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

function failedBatchFromItem(item: Item): StoredFailedBatch {
  const redrive: FailedBatchRedrive | null =
    item.rat === undefined
      ? null
      : {
          atMs: num(item.rat),
          shardId: str(item.rsh),
          processed: num(item.rp),
          late: num(item.rl),
          deadLettered: num(item.rd),
        };
  return {
    key: str(item.sk),
    source: str(item.src) as FailedBatchSource,
    streamArn: str(item.arn),
    shardId: str(item.sh),
    startSequenceNumber: str(item.s0),
    endSequenceNumber: str(item.s1),
    records: num(item.n),
    events: nullableNum(item.ev),
    reason: str(item.why),
    invokeCount: num(item.inv),
    failedAtMs: num(item.at),
    firstArrivalMs: num(item.a0),
    lastArrivalMs: num(item.a1),
    redrive,
  };
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
}

const table = (actions: TableAction[], leadingKeys: string[]): Permission => ({
  resource: 'table',
  actions,
  leadingKeys,
});

/**
 * The calls each method makes, and the partition keys (item kinds, see the table above) they touch. A
 * function is granted exactly the permissions of the methods it is wired to call: see `storePermissions`.
 * Keep each entry next to its method's calls in mind: a new call here without its action fails the local
 * runtime's policy check (local/aws-twin.ts) and the grants test (test/e2e/grants.test.ts).
 */
export const STATE_STORE_PERMISSIONS = {
  getShardStates: table(['dynamodb:Query'], ['shard']),
  getEmittedThrough: table(['dynamodb:GetItem'], ['pipeline']),
  raiseEmittedThrough: table(['dynamodb:UpdateItem'], ['pipeline']),
  putShardState: table(['dynamodb:PutItem'], ['shard']),
  getPanes: table(['dynamodb:BatchGetItem'], ['pane|*']),
  // Both read one window's items by sort-key prefix (GET /views/{view}/groups).
  listOpenWindowGroups: table(['dynamodb:Query'], ['open|*']),
  listEmittedWindow: table(['dynamodb:Query'], ['emitted|*']),
  putPanes: table(['dynamodb:PutItem'], ['pane|*']),
  queryPanes: table(['dynamodb:Query'], ['pane|*']),
  putSideRecords: table(['dynamodb:PutItem'], ['late', 'dead']),
  listSideRecords: table(['dynamodb:Query'], ['late', 'dead']),
  putOpenWindows: table(['dynamodb:PutItem'], ['open|*']),
  listOpenWindows: table(['dynamodb:Query'], ['open|*']),
  deleteOpenWindows: table(['dynamodb:DeleteItem'], ['open|*']),
  putEmitted: table(['dynamodb:PutItem'], ['emitted|*']),
  claimRecordOrigins: table(['dynamodb:PutItem'], ['rec|*']),
  listEmitted: table(['dynamodb:Query'], ['emitted|*']),
  putFailedBatch: table(['dynamodb:PutItem'], ['failed']),
  listFailedBatches: table(['dynamodb:Query'], ['failed']),
  markFailedBatchRedriven: table(['dynamodb:UpdateItem'], ['failed']),
  addIngestCounts: table(['dynamodb:UpdateItem'], ['ingest']),
  getIngestCounts: table(['dynamodb:Query'], ['ingest']),
  // A conditional put, then a read of the claim that is already there.
  claimIdempotencyKey: table(['dynamodb:PutItem', 'dynamodb:GetItem'], ['idem|*']),
  completeIdempotencyKey: table(['dynamodb:UpdateItem'], ['idem|*']),
  releaseIdempotencyKey: table(['dynamodb:DeleteItem'], ['idem|*']),
  ping: table(['dynamodb:GetItem'], ['ingest']),
} as const satisfies Record<keyof StateStore | 'ping' | 'listOpenWindowGroups' | 'listEmittedWindow', Permission>;

export type StateStoreCall = keyof typeof STATE_STORE_PERMISSIONS;

/** The permissions of the state-store methods a function calls. */
export function storePermissions(calls: readonly StateStoreCall[]): Permission[] {
  return calls.map((call) => STATE_STORE_PERMISSIONS[call]);
}

export class DynamoStateStore implements StateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getShardStates(): Promise<ShardState[]> {
    const states: ShardState[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S('shard') },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) states.push(shardFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return states;
  }

  async getEmittedThrough(): Promise<number | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: S('pipeline'), sk: S('emitted-through') },
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
          Key: { pk: S('pipeline'), sk: S('emitted-through') },
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

  async putShardState(state: ShardState, expectedSeq: string | null, expectExisting: boolean): Promise<void> {
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
    const condition = !expectExisting
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : expectedSeq === null
        ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(seq)' }
        : { ConditionExpression: 'seq = :prev', ExpressionAttributeValues: { ':prev': S(expectedSeq) } };
    await this.conditionalPut(item, condition, `shard ${state.shardId}`);
  }

  async getPanes(shardId: string, refs: readonly PaneRef[]): Promise<Map<string, StoredPane>> {
    const found = new Map<string, StoredPane>();
    for (let i = 0; i < refs.length; i += BATCH_GET_LIMIT) {
      let keys: Item[] | undefined = refs
        .slice(i, i + BATCH_GET_LIMIT)
        .map((r) => ({ pk: S(panePk(r.viewId, r.groupKey)), sk: S(paneSk(r.paneStart, shardId)) }));
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
    const item: Item = {
      pk: S(panePk(pane.viewId, pane.groupKey)),
      sk: S(paneSk(pane.paneStart, pane.shardId)),
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
      u: N(Date.now()),
    };
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
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
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
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield paneFromItem(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async putSideRecords(kind: SideKind, shardId: string, records: readonly SideRecord[]): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + SIDE_RECORD_TTL_S;
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

  async claimRecordOrigins(claims: ReadonlyArray<{ origin: string; seq: string }>): Promise<Set<string>> {
    const taken = new Set<string>();
    const expiresAt = Math.floor(Date.now() / 1000) + RECORD_ORIGIN_TTL_S;
    await forEachLimited(claims, WRITE_CONCURRENCY, async ({ origin, seq }) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: { pk: S(`rec|${origin}`), sk: S('-'), seq: S(seq), expiresAt: N(expiresAt) },
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

  async addIngestCounts(counts: Partial<IngestCounts>): Promise<void> {
    const attributes: Record<keyof IngestCounts, string> = {
      accepted: 'accepted',
      rejected: 'rejected',
      requestsRejected: 'requestsRejected',
    };
    const added = (Object.keys(attributes) as Array<keyof IngestCounts>).filter((c) => counts[c] !== undefined);
    if (added.length === 0) return;
    // One counter item per request would be a hot key at high request rates; spreading over 10 items
    // gives 10x the write throughput, and reads sum them.
    const slot = Math.floor(Math.random() * INGEST_COUNTER_ITEMS);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: S('ingest'), sk: S(String(slot)) },
        UpdateExpression: `ADD ${added.map((c) => `${attributes[c]} :${c}`).join(', ')}`,
        ExpressionAttributeValues: Object.fromEntries(added.map((c) => [`:${c}`, N(counts[c]!)])),
      }),
    );
  }

  async getIngestCounts(): Promise<IngestCounts> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S('ingest') },
        ConsistentRead: true,
      }),
    );
    let accepted = 0;
    let rejected = 0;
    let requestsRejected = 0;
    for (const item of out.Items ?? []) {
      accepted += num(item.accepted);
      rejected += num(item.rejected);
      requestsRejected += num(item.requestsRejected);
    }
    return { accepted, rejected, requestsRejected };
  }

  async putFailedBatch(batch: FailedBatch): Promise<boolean> {
    const item: Item = {
      pk: S('failed'),
      // The on-failure record's own fields: a second delivery of it writes the same key.
      sk: S(`${pad(batch.failedAtMs, 13)}|${batch.source}|${batch.shardId}|${batch.startSequenceNumber}`),
      src: S(batch.source),
      arn: S(batch.streamArn),
      sh: S(batch.shardId),
      s0: S(batch.startSequenceNumber),
      s1: S(batch.endSequenceNumber),
      n: N(batch.records),
      why: S(batch.reason),
      inv: N(batch.invokeCount),
      at: N(batch.failedAtMs),
      a0: N(batch.firstArrivalMs),
      a1: N(batch.lastArrivalMs),
    };
    if (batch.events !== null) item.ev = N(batch.events);
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async listFailedBatches(limit: number, cursor: string | null): Promise<FailedBatchPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: cursor ? 'pk = :pk AND sk < :before' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S('failed'), ...(cursor ? { ':before': S(cursor) } : {}) },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const batches = (out.Items ?? []).map(failedBatchFromItem);
    const last = batches[batches.length - 1];
    return { batches, nextCursor: out.LastEvaluatedKey && last ? last.key : null };
  }

  async markFailedBatchRedriven(key: string, redrive: FailedBatchRedrive): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S('failed'), sk: S(key) },
          UpdateExpression: 'SET rat = :at, rsh = :shard, rp = :p, rl = :l, rd = :d',
          // Only a batch that was recorded, and only once: the first redrive's counters stay.
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(rat)',
          ExpressionAttributeValues: {
            ':at': N(redrive.atMs),
            ':shard': S(redrive.shardId),
            ':p': N(redrive.processed),
            ':l': N(redrive.late),
            ':d': N(redrive.deadLettered),
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async claimIdempotencyKey(key: string, nowMs: number): Promise<IdempotencyClaim> {
    const Key = { pk: S(`idem|${key}`), sk: S('-') };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...Key,
            st: S('pending'),
            until: N(nowMs + IDEMPOTENCY_PENDING_MS),
            expiresAt: N(Math.floor(nowMs / 1000) + IDEMPOTENCY_TTL_S),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (st = :pending AND #until < :now)',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':pending': S('pending'), ':now': N(nowMs) },
        }),
      );
      return { state: 'claimed' };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
    const item = out.Item;
    if (item?.st?.S === 'done')
      return { state: 'done', response: { statusCode: num(item.code), body: str(item.body) } };
    return { state: 'in-progress' };
  }

  async completeIdempotencyKey(key: string, response: StoredResponse): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: S(`idem|${key}`), sk: S('-') },
        UpdateExpression: 'SET st = :done, code = :code, body = :body',
        ExpressionAttributeValues: { ':done': S('done'), ':code': N(response.statusCode), ':body': S(response.body) },
      }),
    );
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(`idem|${key}`), sk: S('-') } }),
    );
  }

  async putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void> {
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
          sk: S(
            `${pad(entry.readyAt, PANE_START_DIGITS)}|${pad(entry.windowStart, PANE_START_DIGITS)}|${tag}|${part++}`,
          ),
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
          Item: {
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
          },
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
    const results: EmittedResult[] = items.map((item) => ({
      view: str(item.view),
      groupKey: str(item.gk),
      group: JSON.parse(str(item.g)) as Record<string, string | null>,
      windowStart: num(item.ws),
      windowEnd: num(item.we),
      measures: JSON.parse(str(item.m)) as Record<string, unknown>,
      emittedAt: num(item.at),
    }));
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
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
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
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        for (const [groupKey, group] of JSON.parse(str(item.groups)) as Array<[string, (string | null)[]]>) {
          if (!groups.has(groupKey)) groups.set(groupKey, group);
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return [...groups].map(([groupKey, group]) => ({ groupKey, group }));
  }

  /** Every published result of one window: they share the sort-key prefix `<windowEnd>|<windowStart>|`. */
  async listEmittedWindow(viewId: string, windowStart: number, windowEnd: number): Promise<EmittedResult[]> {
    const results: EmittedResult[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
          ExpressionAttributeValues: {
            ':pk': S(`emitted|${viewId}`),
            ':window': S(`${pad(windowEnd, PANE_START_DIGITS)}|${pad(windowStart, PANE_START_DIGITS)}|`),
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        results.push({
          view: str(item.view),
          groupKey: str(item.gk),
          group: JSON.parse(str(item.g)) as Record<string, string | null>,
          windowStart: num(item.ws),
          windowEnd: num(item.we),
          measures: JSON.parse(str(item.m)) as Record<string, unknown>,
          emittedAt: num(item.at),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return results;
  }

  /** A cheap read that proves the table is reachable (used by /health). */
  async ping(): Promise<void> {
    await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: S('ingest'), sk: S('0') } }));
  }

  private async conditionalPut(
    item: Item,
    condition: { ConditionExpression: string; ExpressionAttributeValues?: Item },
    what: string,
  ): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...condition }));
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new ConcurrentWriteError(`${what} was changed by another invocation; the batch will be retried`);
      }
      throw err;
    }
  }
}
