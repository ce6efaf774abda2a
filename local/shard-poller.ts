/**
 * The local Kinesis event source mapping: polls every shard and invokes the function with batches the way
 * Lambda does, with the same settings as the deployed mapping (config/event-source.ts).
 *
 * - One loop per shard, one batch in flight per shard: records of a shard are delivered in order, never
 *   concurrently (parallelization factor 1). A child shard starts only after its parents were read to the end.
 * - A batch is invoked when it holds `batchSize` records (or ~6 MB of payload), or when the batching window
 *   has passed since its first record was read.
 * - On a function error the batch is split in two (bisect) and each half retried; splitting does not consume
 *   the retry quota. A batch that cannot be split is retried up to `retryAttempts` times. Records that exhaust
 *   their retries, or are older than `maxRecordAgeSeconds`, go to the on-failure destination and are skipped.
 * - A `batchItemFailures` response checkpoints before the first failed record and retries from there.
 * - The checkpoint of a shard only moves forward, past records that were processed or sent to on-failure.
 */
import { randomUUID } from 'node:crypto';
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InvalidArgumentException,
  type KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
  ResourceNotFoundException,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { Handler, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { EVENT_SOURCE } from '../config/event-source.ts';
import { LOCAL_REGION } from './aws-clients.ts';
import { CheckpointStore, type StreamIdentity } from './checkpoint-store.ts';
import { executionRoleArn, functionArn, invokeFunction } from './lambda-runtime.ts';
import type { FailureCondition, OnFailureDestination } from './on-failure-destination.ts';

/** The event source mapping settings, named as in config/event-source.ts. */
export interface EventSourceSettings {
  /** Records per batch, 1–10,000. */
  readonly batchSize: number;
  /** 0–300 seconds. */
  readonly maxBatchingWindowSeconds: number;
  /** Retries of a batch that cannot be split any further, -1 (until the record expires) to 10,000. */
  readonly retryAttempts: number;
  readonly bisectBatchOnError: boolean;
  /** -1 (never) or 60–604,800 seconds. */
  readonly maxRecordAgeSeconds: number;
  /** Honour `{ batchItemFailures }` responses (FunctionResponseTypes: ReportBatchItemFailures). */
  readonly reportBatchItemFailures: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export type KinesisHandler = Handler<KinesisStreamEvent, KinesisStreamBatchResponse | undefined>;

/** A record's identity when ingest first wrote it. */
export interface RestoredRecord {
  readonly seq: string;
  readonly arrivalMs: number;
}

export interface KinesisEventSourceOptions {
  readonly kinesis: KinesisClient;
  readonly stream: StreamIdentity & { readonly streamName: string };
  readonly handler: KinesisHandler;
  readonly onFailure: OnFailureDestination;
  /** @default - the deployed settings, EVENT_SOURCE in config/event-source.ts */
  readonly settings?: Partial<EventSourceSettings>;
  /** @default 'eddy-aggregate' */
  readonly functionName?: string;
  /** @default 60 */
  readonly functionTimeoutSeconds?: number;
  /** @default - in memory */
  readonly checkpoints?: CheckpointStore;
  /**
   * Records the runtime replayed into the stream from its journal at start (local/stream-journal.ts), by
   * `shardId:sequenceNumber` as the stream numbers them now: they are delivered under the sequence number and
   * arrival time they had when ingest first wrote them, as Kinesis would have kept them.
   * @default - none
   */
  readonly restored?: ReadonlyMap<string, RestoredRecord>;
  /**
   * Wait between polls of a shard that had nothing to read. Lambda polls each shard once a second; a shorter
   * wait only makes local results show up sooner.
   * @default 500
   */
  readonly idlePollMs?: number;
  /** How often to look for new shards (after a reshard). @default 5_000 */
  readonly shardDiscoveryMs?: number;
  /** First wait before retrying a failed batch; doubles on each retry up to `maxRetryBackoffMs`. @default 100 */
  readonly retryBackoffMs?: number;
  /** @default 2_000 */
  readonly maxRetryBackoffMs?: number;
  /** @default console.log */
  readonly log?: (line: string) => void;
  /** Clock for record ages (tests move it forward). @default Date.now */
  readonly now?: () => number;
}

export interface ShardStats {
  readonly shardId: string;
  readonly state: 'waiting-for-parent' | 'polling' | 'ended';
  /** Checkpoint: the last sequence number processed or sent to on-failure. */
  readonly lastSequence?: string;
  /** Successful invocations. */
  readonly batches: number;
  /** Records the function processed successfully. */
  readonly records: number;
  /** Every invocation, successful or not. */
  readonly invocations: number;
  /** Invocations that followed a failed one (bisected halves and plain retries). */
  readonly retries: number;
  /** Records sent to the on-failure destination. */
  readonly failures: number;
  /** Age of the last record of the last successful batch when it finished, like Lambda's IteratorAge metric. */
  readonly iteratorAgeMs: number;
  /** From the last GetRecords: how far this shard's reader is behind the tip of the shard. */
  readonly millisBehindLatest: number;
}

/** Lambda's invocation payload limit for synchronous calls. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Room for a record's JSON envelope around its base64 data (ids, ARNs, timestamps). */
const RECORD_ENVELOPE_BYTES = 600;
/** While a batching window is open, look for more records this often (Kinesis allows 5 reads/s per shard). */
const WINDOW_POLL_MS = 200;
const ERROR_BACKOFF_MS = 1_000;

export function resolveSettings(overrides: Partial<EventSourceSettings> = {}): EventSourceSettings {
  const settings: EventSourceSettings = {
    batchSize: EVENT_SOURCE.batchSize,
    maxBatchingWindowSeconds: EVENT_SOURCE.maxBatchingWindowSeconds,
    retryAttempts: EVENT_SOURCE.retryAttempts,
    bisectBatchOnError: EVENT_SOURCE.bisectBatchOnError,
    maxRecordAgeSeconds: EVENT_SOURCE.maxRecordAgeSeconds,
    reportBatchItemFailures: EVENT_SOURCE.reportBatchItemFailures,
    startingPosition: EVENT_SOURCE.startingPosition,
    ...overrides,
  };
  const { batchSize, maxBatchingWindowSeconds: window, retryAttempts, maxRecordAgeSeconds: age } = settings;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new RangeError(`batch size must be between 1 and 10000 inclusive (given ${batchSize})`);
  }
  if (!(window >= 0 && window <= 300)) {
    throw new RangeError(`maxBatchingWindowSeconds must be between 0 and 300 inclusive (given ${window})`);
  }
  if (!Number.isInteger(retryAttempts) || retryAttempts < -1 || retryAttempts > 10_000) {
    throw new RangeError(`retryAttempts must be -1 (retry until expiry) or 0 to 10000 (given ${retryAttempts})`);
  }
  if (!(age === -1 || (Number.isInteger(age) && age >= 60 && age <= 604_800))) {
    throw new RangeError(`maxRecordAgeSeconds must be -1 (no limit) or 60 to 604800 (given ${age})`);
  }
  return settings;
}

interface ShardState {
  readonly shardId: string;
  readonly parentIds: readonly string[];
  state: ShardStats['state'];
  iterator?: string;
  /** Read from the stream, not yet delivered, oldest first. */
  buffer: KinesisRecord[];
  /** When the first record now in the buffer was read: the batching window runs from here. */
  bufferSince: number;
  /** The stream returned no next iterator: the shard is closed and everything in it has been read. */
  readToEnd: boolean;
  lastFetched?: string;
  /** Start time of the last GetRecords that found nothing, taken while nothing was buffered or in flight. */
  idleSince: number;
  busy: boolean;
  stats: { -readonly [K in Exclude<keyof ShardStats, 'shardId' | 'state'>]: ShardStats[K] };
}

export class KinesisEventSource {
  readonly settings: EventSourceSettings;
  private readonly shards = new Map<string, ShardState>();
  private readonly loops = new Set<Promise<void>>();
  private readonly checkpoints: CheckpointStore;
  private readonly functionName: string;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private discovery?: Promise<void>;
  private discoveryTimer?: NodeJS.Timeout;
  private started = false;
  private stopping?: Promise<void>;

  constructor(private readonly options: KinesisEventSourceOptions) {
    this.settings = resolveSettings(options.settings);
    this.checkpoints = options.checkpoints ?? CheckpointStore.inMemory(options.stream);
    this.functionName = options.functionName ?? 'eddy-aggregate';
    this.log = options.log ?? ((line) => console.log(line));
    this.now = options.now ?? Date.now;
  }

  /** Lists the shards and starts polling them; resolves once the first shards are being polled. */
  async start(): Promise<void> {
    if (this.started) throw new Error('this event source has already been started');
    this.started = true;
    // The first listing fails loudly (a wrong stream name); later ones are logged and retried.
    this.startReadyShards(await this.listShards());
    this.discoveryTimer = setInterval(() => void this.discoverShards(), this.options.shardDiscoveryMs ?? 5_000);
    this.discoveryTimer.unref();
  }

  /** Lets the batches in flight finish (their retries are abandoned), then stops polling and saves checkpoints. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.discoveryTimer);
      this.abort.abort();
      await this.discovery;
      while (this.loops.size > 0) await Promise.all(this.loops);
      await this.checkpoints.flush();
    })();
    return this.stopping;
  }

  /** Nothing buffered, nothing in flight, and the last read of every shard found nothing new. */
  get idle(): boolean {
    return this.allIdleSince(0);
  }

  /**
   * Resolves once every record put before this call has been delivered (or sent to on-failure): each polling
   * shard has since read nothing new with nothing buffered or in flight.
   */
  async drained(timeoutMs = 30_000): Promise<void> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    while (!this.allIdleSince(since)) {
      if (Date.now() > deadline) throw new Error(`shards not drained within ${timeoutMs} ms: ${this.describeBusy()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  stats(): ShardStats[] {
    return [...this.shards.values()]
      .map((s) => ({ shardId: s.shardId, state: s.state, ...s.stats }))
      .sort((a, b) => a.shardId.localeCompare(b.shardId));
  }

  private allIdleSince(since: number): boolean {
    if (this.shards.size === 0) return false;
    // A shard waiting for its parent is idle; one that just ended is busy until its children have started.
    return [...this.shards.values()].every((s) => (s.state === 'polling' ? this.isIdle(s, since) : !s.busy));
  }

  private isIdle(shard: ShardState, since: number): boolean {
    return !shard.busy && shard.buffer.length === 0 && shard.idleSince >= since;
  }

  private describeBusy(): string {
    return [...this.shards.values()]
      .filter((s) => s.state === 'polling')
      .map((s) => `${s.shardId} buffered=${s.buffer.length} busy=${s.busy}`)
      .join(', ');
  }

  private get stopRequested(): boolean {
    return this.abort.signal.aborted;
  }

  // ---- shards -------------------------------------------------------------------------------------------

  private discoverShards(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    this.discovery ??= this.listShards()
      .then((shards) => this.startReadyShards(shards))
      .catch((err) => this.log(`[event-source] listing shards failed: ${errorText(err)}`))
      .finally(() => {
        this.discovery = undefined;
      });
    return this.discovery;
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.options.kinesis.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.options.stream.streamName }),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  private startReadyShards(listed: readonly Shard[]): void {
    for (const shard of listed) {
      const shardId = shard.ShardId!;
      if (this.shards.has(shardId)) continue;
      const parentIds = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p);
      const checkpoint = this.checkpoints.get(shardId);
      this.shards.set(
        shardId,
        newShardState(shardId, parentIds, checkpoint?.sequenceNumber, checkpoint?.ended === true),
      );
    }
    const listedIds = new Set(listed.map((s) => s.ShardId!));
    for (const state of this.shards.values()) {
      if (state.state !== 'waiting-for-parent' || this.stopRequested) continue;
      // A parent that is no longer listed has aged out of the stream: nothing of it is left to read first.
      const parentsDone = state.parentIds.every((p) => !listedIds.has(p) || this.shards.get(p)?.state === 'ended');
      if (!parentsDone) continue;
      state.state = 'polling';
      const loop = this.pollShard(state).finally(() => this.loops.delete(loop));
      this.loops.add(loop);
    }
  }

  private async pollShard(shard: ShardState): Promise<void> {
    const windowMs = this.settings.maxBatchingWindowSeconds * 1_000;
    while (!this.stopRequested) {
      try {
        const pollStarted = Date.now();
        const read = shard.readToEnd || shard.buffer.length >= this.settings.batchSize ? 0 : await this.read(shard);
        if (this.stopRequested) return;
        const full = shard.buffer.length >= this.settings.batchSize;
        const windowOver = Date.now() - shard.bufferSince >= windowMs;
        if (shard.buffer.length > 0 && (full || windowOver || shard.readToEnd)) {
          await this.deliverNextBatch(shard);
          continue;
        }
        if (shard.buffer.length > 0) {
          await this.sleep(Math.min(WINDOW_POLL_MS, windowMs - (Date.now() - shard.bufferSince)));
          continue;
        }
        if (shard.readToEnd) {
          await this.endShard(shard);
          return;
        }
        if (read === 0) {
          shard.idleSince = pollStarted;
          await this.sleep(this.options.idlePollMs ?? 500);
        }
      } catch (err) {
        if (this.stopRequested) return;
        if (err instanceof ExpiredIteratorException) {
          shard.iterator = undefined;
          continue;
        }
        this.log(`[event-source] ${shard.shardId}: ${errorText(err)}; polling again in ${ERROR_BACKOFF_MS} ms`);
        await this.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private async endShard(shard: ShardState): Promise<void> {
    shard.state = 'ended';
    shard.busy = true;
    this.checkpoints.set(shard.shardId, { sequenceNumber: shard.stats.lastSequence, ended: true });
    this.log(`[event-source] ${shard.shardId} is closed and fully processed; starting its children`);
    try {
      // A listing already under way may predate the reshard: list again once it is done.
      await this.discovery;
      await this.discoverShards();
    } finally {
      shard.busy = false;
    }
  }

  /** Reads once from the shard into its buffer; returns how many records it read. */
  private async read(shard: ShardState): Promise<number> {
    shard.iterator ??= await this.iteratorFor(shard);
    const page = await this.options.kinesis.send(
      new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.settings.batchSize - shard.buffer.length }),
    );
    const records = page.Records ?? [];
    if (records.length > 0) {
      if (shard.buffer.length === 0) shard.bufferSince = Date.now();
      shard.buffer.push(...records);
      shard.lastFetched = records.at(-1)!.SequenceNumber;
    }
    shard.stats.millisBehindLatest = page.MillisBehindLatest ?? 0;
    shard.iterator = page.NextShardIterator;
    if (!page.NextShardIterator) shard.readToEnd = true;
    return records.length;
  }

  private async iteratorFor(shard: ShardState): Promise<string> {
    const { streamName } = this.options.stream;
    const { kinesis } = this.options;
    const fromStart = () =>
      kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shard.shardId,
          ShardIteratorType: this.settings.startingPosition,
        }),
      );
    // After the last record read (its iterator expired during retries), else after the checkpoint.
    const after = shard.lastFetched ?? shard.stats.lastSequence;
    if (after === undefined) return (await fromStart()).ShardIterator!;
    try {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shard.shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          StartingSequenceNumber: after,
        }),
      );
      return ShardIterator!;
    } catch (err) {
      const unknownSequence = err instanceof ResourceNotFoundException || err instanceof InvalidArgumentException;
      if (!unknownSequence || shard.lastFetched !== undefined) throw err;
      // kinesis-local persists its data every few seconds, so a saved checkpoint can be newer than the data.
      this.log(`[event-source] ${shard.shardId}: checkpoint ${after} is not in the stream; reading from the start`);
      return (await fromStart()).ShardIterator!;
    }
  }

  // ---- batches ------------------------------------------------------------------------------------------

  private async deliverNextBatch(shard: ShardState): Promise<void> {
    const batch = takeBatch(shard.buffer, this.settings.batchSize);
    shard.busy = true;
    try {
      const done = await this.deliver(shard, batch, { retries: 0, invocations: 0 });
      if (done) {
        shard.buffer.splice(0, batch.length);
        shard.bufferSince = Date.now();
      }
    } finally {
      shard.busy = false;
    }
  }

  /**
   * Delivers `records` until each one has been processed or sent to on-failure. Returns false if stop() cut
   * the retries short; the records stay after the checkpoint and are delivered again on the next start.
   *
   * `retries` is the retry quota already used by these records; `invocations` how often they were invoked.
   */
  private async deliver(
    shard: ShardState,
    records: KinesisRecord[],
    attempt: { retries: number; invocations: number },
  ): Promise<boolean> {
    let batch = records;
    let { retries, invocations } = attempt;
    for (;;) {
      batch = await this.dropExpired(shard, batch, invocations);
      if (batch.length === 0) return true;
      if (invocations > 0 && this.stopRequested) return false;
      const failedFrom = await this.invoke(shard, batch, invocations > 0);
      invocations++;
      if (failedFrom === undefined) {
        this.commit(shard, batch);
        shard.stats.batches++;
        shard.stats.records += batch.length;
        shard.stats.iteratorAgeMs = this.now() - batch.at(-1)!.ApproximateArrivalTimestamp!.getTime();
        return true;
      }
      if (failedFrom > 0) {
        // Partial batch response: everything before the first failed record is done.
        const done = batch.slice(0, failedFrom);
        this.commit(shard, done);
        shard.stats.records += done.length;
        batch = batch.slice(failedFrom);
      } else if (this.settings.bisectBatchOnError && batch.length > 1) {
        // Splitting does not consume the retry quota: both halves carry on with the quota used so far.
        const half = Math.ceil(batch.length / 2);
        const next = { retries, invocations };
        return (
          (await this.deliver(shard, batch.slice(0, half), next)) &&
          (await this.deliver(shard, batch.slice(half), next))
        );
      }
      if (this.settings.retryAttempts !== -1 && retries >= this.settings.retryAttempts) {
        await this.sendToOnFailure(shard, batch, 'RetryAttemptsExhausted', invocations);
        return true;
      }
      retries++;
      const backoff = (this.options.retryBackoffMs ?? 100) * 2 ** (retries - 1);
      await this.sleep(Math.min(backoff, this.options.maxRetryBackoffMs ?? 2_000));
    }
  }

  /**
   * Invokes the function once. Returns undefined on success, else the index of the first record to retry
   * from: 0 for a function error, more for a partial batch response.
   */
  private async invoke(shard: ShardState, batch: KinesisRecord[], isRetry: boolean): Promise<number | undefined> {
    shard.stats.invocations++;
    if (isRetry) shard.stats.retries++;
    const range = `${batch.length} record(s) ${batch[0]!.SequenceNumber}..${batch.at(-1)!.SequenceNumber}`;
    try {
      const { result } = await invokeFunction(
        { name: this.functionName, handler: this.options.handler, timeoutSeconds: this.options.functionTimeoutSeconds },
        this.event(shard, batch),
      );
      if (!this.settings.reportBatchItemFailures) return undefined;
      const failedFrom = firstFailedIndex(batch, result);
      if (failedFrom !== undefined) {
        this.log(`[event-source] ${shard.shardId}: ${this.functionName} reported failures in ${range}`);
      }
      return failedFrom;
    } catch (err) {
      const detail = isRetry ? errorText(err) : ((err as Error)?.stack ?? errorText(err));
      this.log(`[event-source] ${shard.shardId}: ${this.functionName} failed on ${range}: ${detail}`);
      return 0;
    }
  }

  /** The record's sequence number and arrival as the function sees them: its original ones if it was restored. */
  private identity(shard: ShardState, r: KinesisRecord): RestoredRecord {
    return (
      this.options.restored?.get(`${shard.shardId}:${r.SequenceNumber}`) ?? {
        seq: r.SequenceNumber!,
        arrivalMs: r.ApproximateArrivalTimestamp!.getTime(),
      }
    );
  }

  private event(shard: ShardState, batch: readonly KinesisRecord[]): KinesisStreamEvent {
    const { streamArn } = this.options.stream;
    const invokeIdentityArn = executionRoleArn(this.functionName);
    return {
      Records: batch.map(
        (r): KinesisStreamRecord => ({
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: r.PartitionKey!,
            sequenceNumber: this.identity(shard, r).seq,
            data: Buffer.from(r.Data!).toString('base64'),
            approximateArrivalTimestamp: this.identity(shard, r).arrivalMs / 1_000,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `${shard.shardId}:${this.identity(shard, r).seq}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn,
          awsRegion: LOCAL_REGION,
          eventSourceARN: streamArn,
        }),
      ),
    };
  }

  /** Sends the leading records older than the maximum record age to on-failure; returns the rest. */
  private async dropExpired(shard: ShardState, batch: KinesisRecord[], invocations: number): Promise<KinesisRecord[]> {
    const maxAge = this.settings.maxRecordAgeSeconds;
    if (maxAge === -1) return batch;
    const oldest = this.now() - maxAge * 1_000;
    // Arrival times only grow along a shard, so the expired records are a prefix.
    const expired = batch.findIndex((r) => r.ApproximateArrivalTimestamp!.getTime() >= oldest);
    const cut = expired === -1 ? batch.length : expired;
    if (cut === 0) return batch;
    await this.sendToOnFailure(shard, batch.slice(0, cut), 'RecordAgeExceeded', invocations);
    return batch.slice(cut);
  }

  private async sendToOnFailure(
    shard: ShardState,
    records: KinesisRecord[],
    condition: FailureCondition,
    invocations: number,
  ): Promise<void> {
    const first = records[0]!;
    const last = records.at(-1)!;
    this.log(
      `[event-source] ${shard.shardId}: ${condition}: ${records.length} record(s) ` +
        `${first.SequenceNumber}..${last.SequenceNumber} sent to the on-failure destination`,
    );
    try {
      await this.options.onFailure.send({
        requestContext: {
          requestId: randomUUID(),
          functionArn: functionArn(this.functionName),
          condition,
          approximateInvokeCount: invocations,
        },
        ...(invocations > 0
          ? { responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' } }
          : {}),
        version: '1.0',
        timestamp: new Date(this.now()).toISOString(),
        KinesisBatchInfo: {
          shardId: shard.shardId,
          startSequenceNumber: first.SequenceNumber!,
          endSequenceNumber: last.SequenceNumber!,
          approximateArrivalOfFirstRecord: first.ApproximateArrivalTimestamp!.toISOString(),
          approximateArrivalOfLastRecord: last.ApproximateArrivalTimestamp!.toISOString(),
          batchSize: records.length,
          streamArn: this.options.stream.streamArn,
        },
      });
    } catch (err) {
      // Lambda moves on once it has given up on records; so do we, but say what was lost.
      this.log(`[event-source] ${shard.shardId}: could not write the on-failure record: ${errorText(err)}`);
    }
    shard.stats.failures += records.length;
    this.commit(shard, records);
  }

  private commit(shard: ShardState, done: readonly KinesisRecord[]): void {
    const sequenceNumber = done.at(-1)?.SequenceNumber;
    if (sequenceNumber === undefined) return;
    shard.stats.lastSequence = sequenceNumber;
    this.checkpoints.set(shard.shardId, { sequenceNumber });
  }

  /** Resolves after `ms`, or at once when stop() is called. */
  private sleep(ms: number): Promise<void> {
    if (this.stopRequested || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener('abort', done);
    });
  }
}

function newShardState(
  shardId: string,
  parentIds: readonly string[],
  lastSequence: string | undefined,
  ended: boolean,
): ShardState {
  return {
    shardId,
    parentIds,
    state: ended ? 'ended' : 'waiting-for-parent',
    buffer: [],
    bufferSince: 0,
    readToEnd: false,
    idleSince: -1,
    busy: false,
    stats: {
      lastSequence,
      batches: 0,
      records: 0,
      invocations: 0,
      retries: 0,
      failures: 0,
      iteratorAgeMs: 0,
      millisBehindLatest: 0,
    },
  };
}

/** The next batch from the front of the buffer: at most `batchSize` records and ~6 MB of event payload. */
function takeBatch(buffer: readonly KinesisRecord[], batchSize: number): KinesisRecord[] {
  let bytes = 0;
  let count = 0;
  for (const record of buffer) {
    if (count === batchSize) break;
    bytes += Math.ceil((record.Data?.length ?? 0) / 3) * 4 + RECORD_ENVELOPE_BYTES;
    if (count > 0 && bytes > MAX_PAYLOAD_BYTES) break;
    count++;
  }
  return buffer.slice(0, count);
}

/**
 * Reads a partial batch response. Like Lambda: no failures (or no response) is success; an item identifier
 * that is empty or not a sequence number of this batch fails the whole batch; otherwise processing resumes at
 * the lowest failed sequence number.
 */
function firstFailedIndex(batch: readonly KinesisRecord[], response: unknown): number | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  let first = batch.length;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => r.SequenceNumber === id) : -1;
    if (index === -1) return 0;
    first = Math.min(first, index);
  }
  return first;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
