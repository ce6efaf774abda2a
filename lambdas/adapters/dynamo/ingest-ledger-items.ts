/** The ingest ledger: counters (`ingest`, spread over 10 items) and idempotency keys (`idem|<key>`). */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { IdempotencyClaim, IngestCounts, IngestLedger, StoredResponse } from '../../core/store.ts';
import type { Permission } from '../permissions.ts';
import { type Item, isConditionFailure, N, num, S, str, TableItems, table } from './table.ts';

/** Items the ingest counters are spread over. */
export const INGEST_COUNTER_ITEMS = 10;
/** Producers retry within minutes; a day covers retries across an outage. */
const IDEMPOTENCY_TTL_S = 86_400;
/**
 * A claim whose request died (timeout, crash) may be taken over after this: just above the ingest function's
 * 10 s timeout, so no invocation that holds it can still be running. Taking over is safe even if its records
 * reached the stream: they carry their origin, and the aggregator drops the retry's repeats.
 */
const IDEMPOTENCY_PENDING_MS = 12_000;

/** The key of one of the ingest counters' items. */
export const ingestCounterKey = (slot: number): Item => ({ pk: S('ingest'), sk: S(String(slot)) });

/** One ingest counter item holding `counts` (what its ADD updates summed to), as addIngestCounts leaves it. */
export function ingestCounterItem(slot: number, counts: Partial<IngestCounts>): Item {
  const item = ingestCounterKey(slot);
  for (const [name, n] of Object.entries(counts)) if (n !== undefined) item[name] = N(n);
  return item;
}

/** The key of a producer's idempotency key's item. */
export const idempotencyKey = (key: string): Item => ({ pk: S(`idem|${key}`), sk: S('-') });

/** The item of an idempotency key claimed at `nowMs`, as claimIdempotencyKey writes it. */
export function idempotencyClaimItem(key: string, nowMs: number): Item {
  return {
    ...idempotencyKey(key),
    st: S('pending'),
    until: N(nowMs + IDEMPOTENCY_PENDING_MS),
    expiresAt: N(Math.floor(nowMs / 1000) + IDEMPOTENCY_TTL_S),
  };
}

/** The calls each method makes, and the partition keys it touches. */
export const INGEST_LEDGER_PERMISSIONS = {
  addIngestCounts: table(['dynamodb:UpdateItem'], ['ingest']),
  getIngestCounts: table(['dynamodb:Query'], ['ingest']),
  // A conditional put, then a read of the claim that is already there.
  claimIdempotencyKey: table(['dynamodb:PutItem', 'dynamodb:GetItem'], ['idem|*']),
  completeIdempotencyKey: table(['dynamodb:UpdateItem'], ['idem|*']),
  releaseIdempotencyKey: table(['dynamodb:DeleteItem'], ['idem|*']),
  ping: table(['dynamodb:GetItem'], ['ingest']),
} as const satisfies Record<string, Permission>;

export class DynamoIngestLedger extends TableItems implements IngestLedger {
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
        Key: ingestCounterKey(slot),
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

  async claimIdempotencyKey(key: string, nowMs: number): Promise<IdempotencyClaim> {
    const Key = idempotencyKey(key);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: idempotencyClaimItem(key, nowMs),
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
        Key: idempotencyKey(key),
        UpdateExpression: 'SET st = :done, code = :code, body = :body',
        ExpressionAttributeValues: { ':done': S('done'), ':code': N(response.statusCode), ':body': S(response.body) },
      }),
    );
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: idempotencyKey(key) }));
  }

  /** A cheap read that proves the table is reachable (used by /health). */
  async ping(): Promise<void> {
    await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: ingestCounterKey(0) }));
  }
}
