/**
 * The storage ports, one per kind of item: what the handlers need from storage, independent of DynamoDB.
 *
 * Every pane item is (view, group, pane, shard): each shard's processor owns its own items, so every item has
 * exactly one writer and carries the sequence number of the last record applied to it.
 */
import { type BatchCounters, emptyCounters, type SideRecord } from './batch-aggregator.ts';
import type { GroupValues } from './group.ts';
import type { PaneRef } from './pane.ts';
import type { ShardWatermark } from './watermark.ts';

export type { PaneRef };

export interface StoredPane extends PaneRef {
  readonly shardId: string;
  readonly group: GroupValues;
  readonly seq: string;
  readonly count: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly partials: Record<string, unknown>;
}

export interface ShardState extends ShardWatermark {
  /** Sequence number of the last record whose effects are all stored, or null for a new shard. */
  readonly seq: string | null;
  /**
   * Last record of the latest batch attempted (written when the batch starts). Beyond `seq`, it means an
   * attempt may have partly applied those records: a retry must judge them exactly as that attempt did.
   */
  readonly attemptedThrough: string | null;
  readonly counters: BatchCounters;
  readonly batches: number;
}

/** A shard's state before its first batch: no records applied, no watermark, no lease. */
export function newShardState(shardId: string): ShardState {
  return {
    shardId,
    seq: null,
    attemptedThrough: null,
    maxEventTime: null,
    watermarkFloor: null,
    lastActivityMs: 0,
    batches: 0,
    counters: emptyCounters(),
  };
}

export type SideKind = 'late' | 'dead';

export interface StoredSideRecord extends SideRecord {
  readonly shardId: string;
}

export interface SidePage {
  readonly records: StoredSideRecord[];
  readonly nextCursor: string | null;
}

/**
 * A window that received data in a batch and awaits emission, with the groups concerned. For sessions,
 * `windowStart` is the gap-sized bucket a session may start in.
 */
export interface OpenWindows {
  /** Storage sort key, to delete the entry once its windows are emitted. */
  readonly key: string;
  readonly windowStart: number;
  /** The entry is examined once the watermark passes this plus the allowed lateness. */
  readonly readyAt: number;
  readonly groups: ReadonlyArray<{ readonly groupKey: string; readonly group: GroupValues }>;
}

/** A final window result, as published. */
export interface EmittedResult {
  readonly view: string;
  readonly group: Record<string, string | null>;
  readonly groupKey: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly measures: Record<string, unknown>;
  readonly emittedAt: number;
}

export interface EmittedPage {
  readonly results: EmittedResult[];
  readonly nextCursor: string | null;
}

export interface IngestCounts {
  readonly accepted: number;
  /** Events refused one by one (by index). */
  readonly rejected: number;
  /** Requests refused as a whole before any event was read (unreadable body, too many events, 413, 415). */
  readonly requestsRejected: number;
}

/** Which event source mapping gave up on a batch: the aggregator's (Kinesis) or the publisher's (table stream). */
export type FailedBatchSource = 'aggregate' | 'publish';

/**
 * A batch an event source mapping gave up on (retries exhausted, or records too old), as its on-failure
 * record names it: the shard and the sequence-number range, never the records themselves.
 */
export interface FailedBatch {
  readonly source: FailedBatchSource;
  /** The stream the records are in: the event stream, or the table's stream for `publish`. */
  readonly streamArn: string;
  readonly shardId: string;
  /** Sequence numbers as Kinesis (or the table stream) gives them, unpadded. */
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly records: number;
  /** Events in those records, read back from the stream when recorded; null if it no longer held them all. */
  readonly events: number | null;
  /** `RetryAttemptsExhausted` or `RecordAgeExceeded`. */
  readonly reason: string;
  readonly invokeCount: number;
  /** When the event source mapping gave up. */
  readonly failedAtMs: number;
  readonly firstArrivalMs: number;
  readonly lastArrivalMs: number;
  /** Set once the batch was applied again (npm run redrive). */
  readonly redrive: FailedBatchRedrive | null;
}

/** How a given-up batch was applied again: under its own shard id, with what that shard's counters show. */
export interface FailedBatchRedrive {
  readonly atMs: number;
  /** The synthetic shard the records were applied under, `redrive:<shardId>:<startSequenceNumber>`. */
  readonly shardId: string;
  readonly processed: number;
  readonly late: number;
  readonly deadLettered: number;
}

export interface StoredFailedBatch extends FailedBatch {
  /** Storage key, to mark the batch redriven. */
  readonly key: string;
}

export interface FailedBatchPage {
  readonly batches: StoredFailedBatch[];
  readonly nextCursor: string | null;
}

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: string;
}

export type IdempotencyClaim =
  | { readonly state: 'claimed' }
  | { readonly state: 'done'; readonly response: StoredResponse }
  | { readonly state: 'in-progress' };

/** Thrown when a conditional write finds the item changed: another invocation wrote it. The batch is retried. */
export class ConcurrentWriteError extends Error {
  override readonly name = 'ConcurrentWriteError';
}

/** Shard progress: each shard's checkpoint, lease, counters and watermark, and the emitted-through watermark. */
export interface ShardProgressStore {
  getShardStates(): Promise<ShardState[]>;
  /** Writes the shard's state if its stored sequence number is still `expectedSeq` (null: not yet written). */
  putShardState(state: ShardState, expectedSeq: string | null, expectExisting: boolean): Promise<void>;
  /**
   * The highest watermark windows were ever published at (null before the first). It only rises: results
   * are final against it, and a shard nobody has seen before starts at it, so a published window stays final.
   */
  getEmittedThrough(): Promise<number | null>;
  raiseEmittedThrough(watermark: number): Promise<void>;
}

/** Pane partials: one item per (view, group, pane, shard), each with one writer. */
export interface PaneStore {
  getPanes(shardId: string, refs: readonly PaneRef[]): Promise<Map<string, StoredPane>>;
  /**
   * Writes panes, each only if its stored sequence number is still `expectedSeq` (null: must not exist yet);
   * throws ConcurrentWriteError when one was changed by someone else.
   */
  putPanes(writes: ReadonlyArray<{ readonly pane: StoredPane; readonly expectedSeq: string | null }>): Promise<void>;
  /** Panes of one group with paneStart in [fromPane, toPane), ascending, all shards. */
  queryPanes(viewId: string, groupKey: string, fromPane: number, toPane: number): AsyncIterable<StoredPane>;
}

/** What awaits emission (open windows) and what was published (the emitted outbox). */
export interface OutboxStore {
  /** Records windows a batch created panes for (written before the panes, so no pane lacks an entry). */
  putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void>;
  /** Open-window entries of a view with readyAt <= readyBy, soonest first. */
  listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]>;
  deleteOpenWindows(viewId: string, key: string): Promise<void>;
  /** Publishes a final result once: false if this window was already published. */
  putEmitted(viewId: string, result: EmittedResult): Promise<boolean>;
  /** Published results of a view with windowEnd < untilEnd, in windowEnd order, after `cursor`. */
  listEmitted(viewId: string, untilEnd: number, limit: number, cursor: string | null): Promise<EmittedPage>;
}

/** The side outputs: late events and dead letters. */
export interface SideRecordStore {
  putSideRecords(kind: SideKind, shardId: string, records: readonly SideRecord[]): Promise<void>;
  listSideRecords(kind: SideKind, limit: number, cursor: string | null): Promise<SidePage>;
}

/** Record origins: which record of a keyed request was applied (see ShardProcessor.dropRepeatedRecords). */
export interface RecordOriginStore {
  /**
   * Claims each record origin (an ingest request's Idempotency-Key and part) for the record with sequence
   * number `seq`, unless another record already owns it. Returns the origins other records own: those
   * records are repeats. Claiming again for the same `seq` is a no-op, so retries decide the same way.
   */
  claimRecordOrigins(claims: ReadonlyArray<{ readonly origin: string; readonly seq: string }>): Promise<Set<string>>;
}

/** The ingest ledger: counters of what the API took and refused, and producers' idempotency keys. */
export interface IngestLedger {
  /** Adds to the ingest counters; a counter left out is unchanged. */
  addIngestCounts(counts: Partial<IngestCounts>): Promise<void>;
  getIngestCounts(): Promise<IngestCounts>;
  /**
   * Claims a producer's Idempotency-Key. 'claimed': first use, go ahead; 'done': the stored response of the
   * request that used it; 'in-progress': another request with this key is being handled right now.
   */
  claimIdempotencyKey(key: string, nowMs: number): Promise<IdempotencyClaim>;
  completeIdempotencyKey(key: string, response: StoredResponse): Promise<void>;
  releaseIdempotencyKey(key: string): Promise<void>;
}

/** Batches an event source mapping gave up on, and their redrives. */
export interface FailedBatchStore {
  /**
   * Records a batch an event source mapping gave up on, once: false if it was already recorded (the on-failure
   * queue delivers at least once), which leaves the stored one, and its redrive, as they are.
   */
  putFailedBatch(batch: FailedBatch): Promise<boolean>;
  /** Given-up batches, the most recently given up first. */
  listFailedBatches(limit: number, cursor: string | null): Promise<FailedBatchPage>;
  /** Marks a given-up batch as applied again; a no-op if it already was. */
  markFailedBatchRedriven(key: string, redrive: FailedBatchRedrive): Promise<void>;
}

/** Every port, as one table serves them (callers take the ports, or the methods, they use). */
export interface StateStore
  extends ShardProgressStore,
    PaneStore,
    OutboxStore,
    SideRecordStore,
    RecordOriginStore,
    IngestLedger,
    FailedBatchStore {}
