/**
 * Which shards the stream has and the order they may be read in. After a reshard, a child's records follow
 * its parents' for the keys they share, so Lambda starts a child shard only once its parents were read to
 * the end (and processed); the same rule keeps every key's records in order here.
 */
import type { Shard } from '@aws-sdk/client-kinesis';

/** A shard and the shards it was split or merged from. */
export interface ShardLineage {
  readonly shardId: string;
  /** The parent and, after a merge, the adjacent parent. */
  readonly parentIds: readonly string[];
}

export function lineageOf(shard: Shard): ShardLineage {
  return {
    shardId: shard.ShardId!,
    parentIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p),
  };
}

/**
 * Whether a shard may be read now: each of its parents has ended. A parent that is no longer listed has
 * aged out of the stream: nothing of it is left to read first.
 */
export function parentsDone(
  shard: ShardLineage,
  listedIds: ReadonlySet<string>,
  hasEnded: (shardId: string) => boolean,
): boolean {
  return shard.parentIds.every((p) => !listedIds.has(p) || hasEnded(p));
}
