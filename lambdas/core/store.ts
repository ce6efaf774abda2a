/**
 * The storage ports, one per kind of item: what the handlers need from storage, independent of DynamoDB.
 *
 * Window state is a pane log (lambdas/core/pane-log.ts, docs/storage.md): each batch appends packed deltas
 * keyed by its shard and first record, the shard's item says what is applied, and the emitter compacts final
 * windows.
 */
import type { ScoredAnomaly } from './anomaly/scoring.ts';
import { type BatchCounters, emptyCounters, type SideRecord } from './batch-aggregator.ts';
import type { DeltaItem, DeltaKey, ResultChunk } from './pane-log.ts';
import type { ShardWatermark } from './watermark.ts';

export interface ShardState extends ShardWatermark {
  /** The delta items the latest unfinished attempt may have written (null once a batch completes). */
  readonly intent: DeltaIntent | null;
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
    intent: null,
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
 * A window that received data and awaits emission: the emitter reads every group of it from the pane log once
 * it is ready. For sessions, `windowStart` is the gap-sized bucket the sessions start in, and an entry is
 * emitted in rounds (see WindowEmitter): a later round lists the groups whose session was still open.
 */
export interface OpenWindows {
  /** Storage sort key, to delete the entry once its windows are emitted. */
  readonly key: string;
  readonly windowStart: number;
  /** The entry is examined once the watermark passes this plus the allowed lateness. */
  readonly readyAt: number;
  /** Sessions: the round (0 first), and the previous round's cut (what it published). */
  readonly round?: number;
  readonly prevCut?: number;
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

/** Where a listing of published results goes on: after this compacted window, skipping `offset` results of the next. */
export interface EmittedPosition {
  /** Sort key of the last compacted window given whole (null: from the first). */
  readonly after: string | null;
  readonly offset: number;
}

export interface EmittedPage {
  readonly results: EmittedResult[];
  readonly next: EmittedPosition | null;
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

/** What awaits emission (open windows) and what was published (the emitted outbox). */
export interface OutboxStore {
  /**
   * Records windows a batch wrote deltas for (before the deltas, so no delta lacks an entry). The key is the
   * window's and the tag's: every batch that touches a window writes the same entry.
   */
  putOpenWindows(viewId: string, tag: string, entries: ReadonlyArray<Omit<OpenWindows, 'key'>>): Promise<void>;
  /**
   * Fixes the cut of a session bucket's round unless one is fixed already; returns the round's cut. Kept
   * apart from the entries, so that two entries of one round (two emitters rescheduled it) agree.
   */
  fixRoundCut(viewId: string, windowStart: number, round: number, cut: number, expiresAtS: number): Promise<number>;
  /** Open-window entries of a view with readyAt <= readyBy, soonest first. */
  listOpenWindows(viewId: string, readyBy: number, limit: number): Promise<OpenWindows[]>;
  deleteOpenWindows(viewId: string, key: string): Promise<void>;
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

/**
 * The delta items an attempt at a batch writes, recorded on the shard item before it writes them: a later
 * attempt (a retry, a bisected half, or the next batch after the event source gave up on this one) removes
 * those it does not write itself, so no attempt's deltas are ever counted next to another's.
 */
export interface DeltaIntent {
  /** The first record of the attempt: its delta items are keyed by it. */
  readonly firstSeq: string;
  readonly keys: readonly DeltaKey[];
}

/** The pane log: per (view, pane, bucket), one delta item per batch holding the partials of many groups. */
export interface PaneLogStore {
  /**
   * Writes an attempt's delta items (keyed by shard and first record): an earlier attempt with the same first
   * record is overwritten item by item. `expiresAtS`: when DynamoDB may delete them (epoch seconds).
   */
  putDeltas(shardId: string, firstSeq: string, items: readonly DeltaItem[], expiresAtS: number): Promise<void>;
  /** Deletes delta items an earlier attempt wrote (see DeltaIntent). */
  deleteDeltas(shardId: string, firstSeq: string, keys: readonly DeltaKey[]): Promise<void>;
  /** Delta items of one (view, bucket) with paneStart in [fromPane, toPane), ascending by pane, all shards. */
  queryDeltas(viewId: string, bucket: number, fromPane: number, toPane: number): AsyncIterable<DeltaItem>;
}

/**
 * A compacted window: the final results of every group of an emitter's entry, in chunks by group hash. For a
 * tumbling or sliding view that is one window; for sessions, the sessions that start in one gap-sized bucket
 * and were final at round `round` (a bucket's sessions that are still open are compacted in a later round).
 */
export interface CompactedWindow {
  readonly viewId: string;
  /** The view's name and group fields, for what is published. */
  readonly view: string;
  readonly groupBy: readonly string[];
  /** The entry's window start (the window's, or the session bucket's). */
  readonly windowStart: number;
  readonly round: number;
  /** The latest window end of its results: listing by it never skips a window published later. */
  readonly windowEnd: number;
  readonly chunks: number;
  readonly results: number;
  /** Whether its results go on the results bus (the view's `emit`). */
  readonly publish: boolean;
  readonly emittedAt: number;
  /**
   * Views with an anomaly detector: the detector's signature (lambdas/core/anomaly/scoring.ts) and how many
   * chunks of per-group detector states were stored with the window, for the next window to start from.
   */
  readonly detector?: { readonly signature: string; readonly chunks: number };
}

export interface StoredChunk extends ResultChunk {
  readonly window: CompactedWindow;
}

export interface CompactedPage {
  readonly windows: CompactedWindow[];
  /** Sort key of the last window listed, to continue after. */
  readonly nextCursor: string | null;
}

/** Compacted windows: what the emitter publishes, and what final windows are read from. */
export interface CompactedStore {
  /**
   * Writes the chunks (each once), then the window item that says they are all there; false if the window
   * item was there already (another emitter finished first). `expiresAtS`: end of retention (epoch seconds).
   */
  putCompacted(
    window: CompactedWindow,
    chunks: readonly ResultChunk[],
    expiresAtS: number,
    detectorStates?: readonly ResultChunk[],
  ): Promise<boolean>;
  /** The view's compacted window with the greatest windowEnd below `beforeEnd` (the one scored before it). */
  getLatestCompacted(viewId: string, beforeEnd: number): Promise<CompactedWindow | null>;
  /** The detector states stored with a compacted window (none without a detector). */
  getDetectorStates(window: CompactedWindow): Promise<ResultChunk[]>;
  /** The compacted window of an entry, if it was compacted. */
  getCompacted(viewId: string, windowEnd: number, windowStart: number, round: number): Promise<CompactedWindow | null>;
  /** Compacted windows with windowEnd in [fromEnd, untilEnd), in windowEnd order, after `cursor`. */
  listCompacted(
    viewId: string,
    fromEnd: number,
    untilEnd: number,
    limit: number,
    cursor: string | null,
  ): Promise<CompactedPage>;
  /** Every chunk of a compacted window. */
  getChunks(window: CompactedWindow): Promise<ResultChunk[]>;
  /** The chunk of a compacted window that holds the group hash `hash` (null if that chunk is missing). */
  getChunk(window: CompactedWindow, hash: number): Promise<ResultChunk | null>;
  /** Every window of the view whose readyAt is at or below this is compacted (null before the first). */
  getCompactedThrough(viewId: string): Promise<number | null>;
  raiseCompactedThrough(viewId: string, readyAt: number): Promise<void>;
}

/** A window reported as an anomaly (lambdas/core/anomaly/scoring.ts), as stored and listed. */
export interface StoredAnomaly extends ScoredAnomaly {
  readonly view: string;
  readonly groupBy: readonly string[];
  readonly detectedAt: number;
}

export interface AnomalyPage {
  readonly anomalies: StoredAnomaly[];
  /** Sort key of the last anomaly examined, to go on after; null when there are no more. */
  readonly nextCursor: string | null;
}

/** Anomalies, by view and window start. */
export interface AnomalyStore {
  /**
   * Records anomalies, each once: a retried scoring finds them there and keeps the first (and its detectedAt);
   * the table's stream carries each to the publish function once.
   */
  putAnomalies(viewId: string, anomalies: readonly StoredAnomaly[], expiresAtS: number): Promise<void>;
  /** Anomalies with windowStart in [from, to), oldest window first, of one group when `groupKey` is given. */
  listAnomalies(
    viewId: string,
    range: { readonly from: number; readonly to: number; readonly groupKey?: string },
    limit: number,
    cursor: string | null,
  ): Promise<AnomalyPage>;
}

/** Every port, as one table serves them (callers take the ports, or the methods, they use). */
export interface StateStore
  extends ShardProgressStore,
    PaneLogStore,
    CompactedStore,
    AnomalyStore,
    OutboxStore,
    SideRecordStore,
    RecordOriginStore,
    IngestLedger,
    FailedBatchStore {}
