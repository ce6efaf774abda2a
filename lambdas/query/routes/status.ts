/**
 * GET /status: where every accepted event is (processed, late, dead-lettered, in flight, in a given-up batch),
 * the requests refused as a whole, the given-up batches, and each shard's progress.
 */

import { pipelineCounters } from '../../core/conservation.ts';
import type { StoredFailedBatch } from '../../core/store.ts';
import { isIdle, isRedriveShard, shardWatermark } from '../../core/watermark.ts';
import { MAX_LIMIT } from '../parameters.ts';
import type { ReadModel } from '../read-model.ts';
import { iso } from '../times.ts';

export async function status(read: ReadModel) {
  const { config, store } = read;
  const [states, ingest, failed] = await Promise.all([
    store.getShardStates(),
    store.getIngestCounts(),
    allFailedBatches(read),
  ]);
  const now = Date.now();
  // Batches of the event stream (the publisher's are results not put on the bus, not events) not redriven yet.
  const aggregateBatches = failed.filter((b) => b.source === 'aggregate');
  const pending = aggregateBatches.filter((b) => b.redrive === null);
  const { events, lateByView } = pipelineCounters(
    states,
    ingest,
    config.views.map((v) => v.name),
    pending.reduce((sum, b) => sum + (b.events ?? 0), 0),
  );
  const watermark = await read.resultsWatermark(states);
  return {
    events,
    requestsRejected: ingest.requestsRejected,
    failedBatches: {
      pending: pending.length,
      records: pending.reduce((sum, b) => sum + b.records, 0),
      eventsUnknown: pending.filter((b) => b.events === null).length,
      redriven: aggregateBatches.length - pending.length,
    },
    lateByView,
    watermark: iso(watermark),
    // The stream's shards; a redrive's shard is a given-up batch, shown by GET /failed-batches.
    shards: states
      .filter((s) => !isRedriveShard(s.shardId))
      .map((s) => {
        const wm = shardWatermark(s, config.outOfOrdernessMs);
        return {
          shardId: s.shardId,
          watermark: Number.isFinite(wm) ? iso(wm) : null,
          maxEventTime: iso(s.maxEventTime),
          lastBatchAt: iso(s.lastActivityMs),
          idle: isIdle(s, now, read.watermarks.idleAfterMs),
          batches: s.batches,
          processed: s.counters.processed,
        };
      }),
  };
}

/** Every given-up batch: few (each is an alarm), so /status can sum them. */
async function allFailedBatches(read: ReadModel): Promise<StoredFailedBatch[]> {
  const all: StoredFailedBatch[] = [];
  let cursor: string | null = null;
  do {
    const page = await read.store.listFailedBatches(MAX_LIMIT, cursor);
    all.push(...page.batches);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}
