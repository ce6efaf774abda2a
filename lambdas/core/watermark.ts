/**
 * The pipeline watermark: the minimum over active shards of each shard's watermark. A shard that has not
 * processed a record for `idleTimeoutMs` stops holding the watermark back; when every shard is idle, the
 * watermark is the highest any of them reached (nothing is in flight that could be earlier). An active shard
 * that has seen no event yet (registered, first batch not processed) holds it back entirely: null.
 */
import { type ShardProgress, watermarkOf } from './batch-aggregator.ts';

export interface ShardWatermark extends ShardProgress {
  readonly shardId: string;
  /** Wall-clock time of the shard's last batch. */
  readonly lastActivityMs: number;
}

export function pipelineWatermark(
  shards: readonly ShardWatermark[],
  nowMs: number,
  outOfOrdernessMs: number,
  idleTimeoutMs: number,
): number | null {
  let activeMin = Number.POSITIVE_INFINITY;
  let anyActive = false;
  let overallMax = Number.NEGATIVE_INFINITY;
  for (const shard of shards) {
    const wm = watermarkOf(shard, outOfOrdernessMs);
    const active = nowMs - shard.lastActivityMs <= idleTimeoutMs;
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
