/**
 * Watermarks, one formula each (as Flink's BoundedOutOfOrdernessWatermarks and WatermarksWithIdleness):
 * - a shard's watermark: the largest event time it applied minus the out-of-orderness, each event time
 *   capped at its record's arrival plus the out-of-orderness, never below the shard's floor;
 * - the pipeline watermark: the minimum over active shards; a shard that has not started a batch for the idle
 *   time stops holding it back; when every shard is idle, the highest any of them reached;
 * - the results watermark: the pipeline's, or the highest windows were ever published at if that is higher.
 * No configuration is read here: callers pass the settings (config/event-source.ts says how long idleness is).
 */

/** What a shard has applied, for its watermark. */
export interface ShardProgress {
  /** Largest event time applied so far (each capped by `boundedEventTime`), or null. */
  readonly maxEventTime: number | null;
  /** A floor the shard's watermark never goes below (raised when an idle shard rejoins). */
  readonly watermarkFloor: number | null;
}

export interface ShardWatermark extends ShardProgress {
  readonly shardId: string;
  /** Wall-clock time the shard's last batch started (its lease). */
  readonly lastActivityMs: number;
}

export interface WatermarkSettings {
  readonly outOfOrdernessMs: number;
  /** How long after its last batch started a shard counts as idle (see `shardIdleAfterMs` in config). */
  readonly idleAfterMs: number;
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
 * An event's time as it counts for the watermark: never more than the out-of-orderness after its record's
 * arrival, so one producer whose clock is an hour fast cannot make the shard's other events late.
 */
export function boundedEventTime(time: number, arrivalMs: number, outOfOrdernessMs: number): number {
  return Math.min(time, arrivalMs + outOfOrdernessMs);
}

/** The shard's watermark; −∞ before its first event (and with no floor). */
export function shardWatermark(progress: ShardProgress, outOfOrdernessMs: number): number {
  const fromEvents =
    progress.maxEventTime === null ? Number.NEGATIVE_INFINITY : progress.maxEventTime - outOfOrdernessMs;
  return Math.max(fromEvents, progress.watermarkFloor ?? Number.NEGATIVE_INFINITY);
}

export function isIdle(shard: ShardWatermark, nowMs: number, idleAfterMs: number): boolean {
  return nowMs - shard.lastActivityMs > idleAfterMs;
}

/**
 * The minimum over active shards of each shard's watermark. An active shard that has seen no event yet
 * (registered, first batch not processed) holds it back entirely: null.
 */
export function pipelineWatermark(
  shards: readonly ShardWatermark[],
  nowMs: number,
  settings: WatermarkSettings,
): number | null {
  let activeMin = Number.POSITIVE_INFINITY;
  let anyActive = false;
  let overallMax = Number.NEGATIVE_INFINITY;
  for (const shard of shards) {
    // A redrive replays old records once, judged against the pipeline watermark it started at: it neither
    // holds the watermark back (it would, for ever, at the old records' times) nor pushes it.
    if (isRedriveShard(shard.shardId)) continue;
    const wm = shardWatermark(shard, settings.outOfOrdernessMs);
    const active = !isIdle(shard, nowMs, settings.idleAfterMs);
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

/**
 * The watermark results are final against: the pipeline's, or the highest windows were ever published at if
 * that is higher (the pipeline's can drop when a new shard joins; a published window stays final).
 */
export function resultsWatermark(pipeline: number | null, emittedThrough: number | null): number | null {
  if (pipeline === null) return emittedThrough;
  return emittedThrough === null ? pipeline : Math.max(pipeline, emittedThrough);
}
