/**
 * The stream's open shards, so that a shard which has not delivered its first batch yet still holds the
 * pipeline watermark back (until it has been idle for the idle timeout), as a Flink source split does.
 */
import {
  type KinesisClient,
  ListShardsCommand,
  type ListShardsCommandOutput,
  type Shard,
} from '@aws-sdk/client-kinesis';

import type { Permission } from './permissions.ts';

/** The directory's only call. */
export const SHARD_DIRECTORY_PERMISSIONS: readonly Permission[] = [
  { resource: 'stream', actions: ['kinesis:ListShards'] },
];

/** Shards change only on a reshard; a minute-old list costs at most a minute of holding back too little. */
const CACHE_MS = 60_000;

/** Every shard of the stream, open and closed, across all of ListShards' pages. */
export async function listShards(
  kinesis: KinesisClient,
  stream: { readonly StreamName: string } | { readonly StreamARN: string },
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page: ListShardsCommandOutput = await kinesis.send(
      new ListShardsCommand(token ? { NextToken: token } : stream),
    );
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token);
  return shards;
}

export class ShardDirectory {
  private cached: { at: number; shardIds: string[] } | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** Ids of the shards that are open (still take records). */
  async openShards(streamArn: string): Promise<string[]> {
    if (this.cached && this.now() - this.cached.at < CACHE_MS) return this.cached.shardIds;
    const shardIds = (await listShards(this.client, { StreamARN: streamArn }))
      .filter((shard) => !shard.SequenceNumberRange?.EndingSequenceNumber)
      .map((shard) => shard.ShardId!);
    this.cached = { at: this.now(), shardIds };
    return shardIds;
  }
}
