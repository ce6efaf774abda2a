/**
 * The local Kinesis event source mapping: polls every shard and invokes the function with batches the way
 * Lambda does, with the same settings as the deployed mapping (config/event-source.ts).
 *
 * - One loop per shard, one batch in flight per shard: records of a shard are delivered in order, never
 *   concurrently (parallelization factor 1). A child shard starts only after its parents were read to the end
 *   (shard-lineage.ts).
 * - A batch is invoked when it holds `batchSize` records (or ~6 MB of payload), or when the batching window
 *   has passed since its first record was read (shard-reader.ts). The shard is read on while a batch is in
 *   flight, so records that arrive during an invocation wait one window, not the invocation and then a window.
 * - After each invocation the batch is committed, bisected, retried or given up (delivery-decision.ts);
 *   records given up, or older than `maxRecordAgeSeconds`, go to the on-failure destination and are skipped.
 * - The checkpoint of a shard only moves forward, past records that were processed or sent to on-failure.
 */
import type { KinesisClient, _Record as KinesisRecord, Shard } from '@aws-sdk/client-kinesis';
import type { Handler, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { listShards } from '../../lambdas/adapters/shard-directory.ts';
import { invokeFunction } from '../lambda-runtime.ts';
import type { FailureCondition, OnFailureDestination } from '../on-failure-destination.ts';
import { CheckpointStore, type StreamIdentity } from './checkpoint-store.ts';
import {
  type Attempt,
  type Backoff,
  decide,
  expiredCount,
  FIRST_ATTEMPT,
  type Outcome,
  retryDelayMs,
} from './delivery-decision.ts';
import {
  type BatchSource,
  type DeliveredAs,
  firstFailedIndex,
  kinesisEvent,
  onFailureRecord,
} from './lambda-payloads.ts';
import { type EventSourceSettings, resolveSettings } from './settings.ts';
import { lineageOf, parentsDone, type ShardLineage } from './shard-lineage.ts';
import { ShardReader, WINDOW_POLL_MS } from './shard-reader.ts';

export type KinesisHandler = Handler<KinesisStreamEvent, KinesisStreamBatchResponse | undefined>;

/** A record's identity when ingest first wrote it. */
export type RestoredRecord = DeliveredAs;

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

/** A shard this event source knows of: where it is in its lineage, its reader, and its counters. */
interface PolledShard extends ShardLineage {
  state: ShardStats['state'];
  readonly reader: ShardReader;
  /** Start time of the last GetRecords that found nothing, taken while nothing was buffered or in flight. */
  idleSince: number;
  busy: boolean;
  readonly stats: {
    -readonly [K in Exclude<keyof ShardStats, 'shardId' | 'state' | 'millisBehindLatest'>]: ShardStats[K];
  };
}

const ERROR_BACKOFF_MS = 1_000;

export class KinesisEventSource {
  readonly settings: EventSourceSettings;
  private readonly shards = new Map<string, PolledShard>();
  private readonly loops = new Set<Promise<void>>();
  private readonly checkpoints: CheckpointStore;
  private readonly functionName: string;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly backoff: Backoff;
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
    this.backoff = { firstMs: options.retryBackoffMs ?? 100, maxMs: options.maxRetryBackoffMs ?? 2_000 };
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
      .map((s) => ({ shardId: s.shardId, state: s.state, ...s.stats, millisBehindLatest: s.reader.millisBehindLatest }))
      .sort((a, b) => a.shardId.localeCompare(b.shardId));
  }

  private allIdleSince(since: number): boolean {
    if (this.shards.size === 0) return false;
    // A shard waiting for its parent is idle; one that just ended is busy until its children have started.
    return [...this.shards.values()].every((s) => (s.state === 'polling' ? this.isIdle(s, since) : !s.busy));
  }

  private isIdle(shard: PolledShard, since: number): boolean {
    return !shard.busy && shard.reader.buffered === 0 && shard.idleSince >= since;
  }

  private describeBusy(): string {
    return [...this.shards.values()]
      .filter((s) => s.state === 'polling')
      .map((s) => `${s.shardId} buffered=${s.reader.buffered} busy=${s.busy}`)
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

  private listShards(): Promise<Shard[]> {
    return listShards(this.options.kinesis, { StreamName: this.options.stream.streamName });
  }

  private startReadyShards(listed: readonly Shard[]): void {
    for (const shard of listed.map(lineageOf)) {
      if (this.shards.has(shard.shardId)) continue;
      this.shards.set(shard.shardId, this.polledShard(shard));
    }
    const listedIds = new Set(listed.map((s) => s.ShardId!));
    const hasEnded = (shardId: string) => this.shards.get(shardId)?.state === 'ended';
    for (const shard of this.shards.values()) {
      if (shard.state !== 'waiting-for-parent' || this.stopRequested) continue;
      if (!parentsDone(shard, listedIds, hasEnded)) continue;
      shard.state = 'polling';
      const loop = this.pollShard(shard).finally(() => this.loops.delete(loop));
      this.loops.add(loop);
    }
  }

  private polledShard({ shardId, parentIds }: ShardLineage): PolledShard {
    const checkpoint = this.checkpoints.get(shardId);
    const stats: PolledShard['stats'] = {
      lastSequence: checkpoint?.sequenceNumber,
      batches: 0,
      records: 0,
      invocations: 0,
      retries: 0,
      failures: 0,
      iteratorAgeMs: 0,
    };
    const reader = new ShardReader({
      kinesis: this.options.kinesis,
      streamName: this.options.stream.streamName,
      shardId,
      settings: this.settings,
      checkpoint: () => stats.lastSequence,
      log: this.log,
    });
    return {
      shardId,
      parentIds,
      state: checkpoint?.ended === true ? 'ended' : 'waiting-for-parent',
      reader,
      idleSince: -1,
      busy: false,
      stats,
    };
  }

  private async pollShard(shard: PolledShard): Promise<void> {
    const { reader } = shard;
    while (!this.stopRequested) {
      try {
        const pollStarted = Date.now();
        const read = await reader.read();
        if (this.stopRequested) return;
        if (reader.batchDue) {
          await this.deliverNextBatch(shard);
          continue;
        }
        if (reader.buffered > 0) {
          await this.sleep(reader.windowPollMs);
          continue;
        }
        if (reader.readToEnd) {
          await this.endShard(shard);
          return;
        }
        if (read === 0) {
          shard.idleSince = pollStarted;
          await this.sleep(this.options.idlePollMs ?? 500);
        }
      } catch (err) {
        if (this.stopRequested) return;
        if (reader.recover(err)) continue;
        this.log(`[event-source] ${shard.shardId}: ${errorText(err)}; polling again in ${ERROR_BACKOFF_MS} ms`);
        await this.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private async endShard(shard: PolledShard): Promise<void> {
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

  // ---- batches ------------------------------------------------------------------------------------------

  private async deliverNextBatch(shard: PolledShard): Promise<void> {
    const batch = shard.reader.nextBatch();
    shard.busy = true;
    let done = false;
    try {
      const delivery = this.deliver(shard, batch, FIRST_ATTEMPT);
      await this.readWhile(shard, delivery);
      done = await delivery;
    } finally {
      if (done) shard.reader.consume(batch.length);
      else shard.reader.release();
      shard.busy = false;
    }
  }

  /**
   * Reads the shard behind the batch in flight until `delivery` settles, every WINDOW_POLL_MS. A failed read
   * is logged and tried again; the delivery's own outcome is left to the caller.
   */
  private async readWhile(shard: PolledShard, delivery: Promise<unknown>): Promise<void> {
    let settled = false;
    const finished = delivery.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled && !this.stopRequested) {
      try {
        await shard.reader.read();
      } catch (err) {
        if (!shard.reader.recover(err)) this.log(`[event-source] ${shard.shardId}: ${errorText(err)}; reading again`);
      }
      await Promise.race([finished, this.sleep(WINDOW_POLL_MS)]);
    }
    await finished;
  }

  /**
   * Delivers `records` until each one has been processed or sent to on-failure, carrying out the decision
   * after each invocation. Returns false if stop() cut the retries short; the records stay after the
   * checkpoint and are delivered again on the next start.
   */
  private async deliver(shard: PolledShard, records: KinesisRecord[], from: Attempt): Promise<boolean> {
    let batch = records;
    let attempt = from;
    for (;;) {
      batch = await this.dropExpired(shard, batch, attempt.invocations);
      if (batch.length === 0) return true;
      if (attempt.invocations > 0 && this.stopRequested) return false;
      const outcome = await this.invoke(shard, batch, attempt.invocations > 0);
      const decision = decide(attempt, outcome, this.settings);
      switch (decision.kind) {
        case 'commit':
          this.commit(shard, batch);
          shard.stats.batches++;
          shard.stats.records += batch.length;
          shard.stats.iteratorAgeMs = this.now() - batch.at(-1)!.ApproximateArrivalTimestamp!.getTime();
          return true;
        case 'bisect':
          return (
            (await this.deliver(shard, batch.slice(0, decision.at), decision.next)) &&
            (await this.deliver(shard, batch.slice(decision.at), decision.next))
          );
        case 'give-up':
          this.commitProcessed(shard, batch.slice(0, decision.processed));
          await this.sendToOnFailure(shard, batch.slice(decision.processed), decision.condition, decision.invocations);
          return true;
        case 'retry':
          this.commitProcessed(shard, batch.slice(0, decision.processed));
          batch = batch.slice(decision.processed);
          attempt = decision.next;
          await this.sleep(retryDelayMs(attempt.retries, this.backoff));
      }
    }
  }

  /** Invokes the function once with `batch`. */
  private async invoke(shard: PolledShard, batch: KinesisRecord[], isRetry: boolean): Promise<Outcome> {
    shard.stats.invocations++;
    if (isRetry) shard.stats.retries++;
    const range = `${batch.length} record(s) ${batch[0]!.SequenceNumber}..${batch.at(-1)!.SequenceNumber}`;
    try {
      const { result } = await invokeFunction(
        { name: this.functionName, handler: this.options.handler, timeoutSeconds: this.options.functionTimeoutSeconds },
        kinesisEvent(batch, this.batchSource(shard), (r) => this.deliveredAs(shard, r)),
      );
      if (!this.settings.reportBatchItemFailures) return { records: batch.length };
      const failedFrom = firstFailedIndex(batch, result);
      if (failedFrom !== undefined) {
        this.log(`[event-source] ${shard.shardId}: ${this.functionName} reported failures in ${range}`);
      }
      return { records: batch.length, failedFrom };
    } catch (err) {
      const detail = isRetry ? errorText(err) : ((err as Error)?.stack ?? errorText(err));
      this.log(`[event-source] ${shard.shardId}: ${this.functionName} failed on ${range}: ${detail}`);
      return { records: batch.length, failedFrom: 0 };
    }
  }

  private batchSource(shard: PolledShard): BatchSource {
    return { shardId: shard.shardId, streamArn: this.options.stream.streamArn, functionName: this.functionName };
  }

  /** The record's sequence number and arrival as the function sees them: its original ones if it was restored. */
  private deliveredAs(shard: PolledShard, r: KinesisRecord): DeliveredAs {
    return (
      this.options.restored?.get(`${shard.shardId}:${r.SequenceNumber}`) ?? {
        seq: r.SequenceNumber!,
        arrivalMs: r.ApproximateArrivalTimestamp!.getTime(),
      }
    );
  }

  /** Sends the leading records older than the maximum record age to on-failure; returns the rest. */
  private async dropExpired(shard: PolledShard, batch: KinesisRecord[], invocations: number): Promise<KinesisRecord[]> {
    const arrivals = batch.map((r) => r.ApproximateArrivalTimestamp!.getTime());
    const cut = expiredCount(arrivals, this.now(), this.settings);
    if (cut === 0) return batch;
    await this.sendToOnFailure(shard, batch.slice(0, cut), 'RecordAgeExceeded', invocations);
    return batch.slice(cut);
  }

  private async sendToOnFailure(
    shard: PolledShard,
    records: KinesisRecord[],
    condition: FailureCondition,
    invocations: number,
  ): Promise<void> {
    this.log(
      `[event-source] ${shard.shardId}: ${condition}: ${records.length} record(s) ` +
        `${records[0]!.SequenceNumber}..${records.at(-1)!.SequenceNumber} sent to the on-failure destination`,
    );
    try {
      await this.options.onFailure.send(
        onFailureRecord(records, this.batchSource(shard), { condition, invocations, nowMs: this.now() }),
      );
    } catch (err) {
      // Lambda moves on once it has given up on records; so do we, but say what was lost.
      this.log(`[event-source] ${shard.shardId}: could not write the on-failure record: ${errorText(err)}`);
    }
    shard.stats.failures += records.length;
    this.commit(shard, records);
  }

  /** Commits the records a partial batch response reported as processed. */
  private commitProcessed(shard: PolledShard, done: readonly KinesisRecord[]): void {
    this.commit(shard, done);
    shard.stats.records += done.length;
  }

  private commit(shard: PolledShard, done: readonly KinesisRecord[]): void {
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

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
