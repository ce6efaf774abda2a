/**
 * The pipeline watermark: the minimum over active shards of each shard's watermark. A shard that has not
 * processed a record for `idleTimeoutMs` stops holding the watermark back; when every shard is idle, the
 * watermark is the highest any of them reached (nothing is in flight that could be earlier). An active shard
 * that has seen no event yet (registered, first batch not processed) holds it back entirely: null.
 */
import { EVENT_SOURCE } from '../../config/event-source.ts';
import { type ShardProgress, watermarkOf } from './batch-aggregator.ts';

export interface ShardWatermark extends ShardProgress {
  readonly shardId: string;
  /** Wall-clock time of the shard's last batch. */
  readonly lastActivityMs: number;
}

/**
 * Shards whose ids start with this are not shards of the stream: `npm run redrive` applies a batch the event
 * source mapping gave up on under `redrive:<shardId>:<first sequence number>` (lambdas/aggregate/redrive.ts),
 * so that the batch has its own progress item and is applied exactly once.
 */
export const REDRIVE_SHARD_PREFIX = 'redrive:';

export function isRedriveShard(shardId: string): boolean {
  return shardId.startsWith(REDRIVE_SHARD_PREFIX);
}

/**
 * A shard's `lastActivityMs` is renewed when a batch starts (a lease), and a batch runs at most the aggregate
 * function's timeout: a shard counts as idle only after both have passed, so a shard whose batch is still
 * running is never left out of the watermark.
 */
export function idleAfterMs(idleTimeoutMs: number): number {
  return idleTimeoutMs + EVENT_SOURCE.functionTimeoutSeconds * 1_000;
}

export function pipelineWatermark(
  shards: readonly ShardWatermark[],
  nowMs: number,
  outOfOrdernessMs: number,
  idleTimeoutMs: number,
): number | null {
  const idleAfter = idleAfterMs(idleTimeoutMs);
  let activeMin = Number.POSITIVE_INFINITY;
  let anyActive = false;
  let overallMax = Number.NEGATIVE_INFINITY;
  for (const shard of shards) {
    // A redrive replays old records once, judged against the pipeline watermark it started at: it neither
    // holds the watermark back (it would, for ever, at the old records' times) nor pushes it.
    if (isRedriveShard(shard.shardId)) continue;
    const wm = watermarkOf(shard, outOfOrdernessMs);
    const active = nowMs - shard.lastActivityMs <= idleAfter;
    if (wm === Number.NEGATIVE_INFINITY) {
      if (active) return null;
      continue;
    }
    overallMax = Math.max(overallMax, wm);
    if (active) {
      anyActive = true;
      activeMin = Math.min(activeMin, wm);
    }
  }
  if (anyActive) return activeMin;
  return overallMax === Number.NEGATIVE_INFINITY ? null : overallMax;
}
