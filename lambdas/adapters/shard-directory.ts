/**
 * The stream's open shards, so that a shard which has not delivered its first batch yet still holds the
 * pipeline watermark back (until it has been idle for the idle timeout), as a Flink source split does.
 */
import { type KinesisClient, ListShardsCommand, type ListShardsCommandOutput } from '@aws-sdk/client-kinesis';

import type { Permission } from './permissions.ts';

/** The directory's only call. */
export const SHARD_DIRECTORY_PERMISSIONS: readonly Permission[] = [
  { resource: 'stream', actions: ['kinesis:ListShards'] },
];

/** Shards change only on a reshard; a minute-old list costs at most a minute of holding back too little. */
const CACHE_MS = 60_000;

export class ShardDirectory {
  private cached: { at: number; shardIds: string[] } | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** Ids of the shards that are open (still take records). */
  async openShards(streamArn: string): Promise<string[]> {
    if (this.cached && this.now() - this.cached.at < CACHE_MS) return this.cached.shardIds;
    const shardIds: string[] = [];
    let token: string | undefined;
    do {
      const page: ListShardsCommandOutput = await this.client.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamARN: streamArn }),
      );
      for (const shard of page.Shards ?? []) {
        if (!shard.SequenceNumberRange?.EndingSequenceNumber) shardIds.push(shard.ShardId!);
      }
      token = page.NextToken;
    } while (token);
    this.cached = { at: this.now(), shardIds };
    return shardIds;
  }
}
