/**
 * Kinesis event source → windowed partials in DynamoDB. Errors are never swallowed: a thrown error makes
 * Lambda retry (and bisect) the batch, which the shard processor makes safe. Bad records do not throw; they
 * are set aside as dead letters with the reason, so they cannot block the shard.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { createStateStore, loadPipelineConfig, logger } from '../adapters/environment.ts';
import { shardIdOf, toBatchRecord } from './kinesis-records.ts';
import { ShardProcessor } from './shard-processor.ts';

const processor = new ShardProcessor(loadPipelineConfig(), createStateStore());

export const handler = async (event: KinesisStreamEvent): Promise<void> => {
  const first = event.Records[0];
  if (!first) return;
  const shardId = shardIdOf(first);
  const report = await processor.process(shardId, event.Records.map(toBatchRecord));
  logger.info('batch applied', { ...report });
};
