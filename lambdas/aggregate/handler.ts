/**
 * Kinesis event source → windowed partials in DynamoDB. Errors are never swallowed: a thrown error makes
 * Lambda retry (and bisect) the batch, which the shard processor makes safe. Bad records do not throw; they
 * are set aside as dead letters with the reason, so they cannot block the shard.
 *
 * The same function runs on a schedule (EventBridge, every minute) to publish windows that became final
 * while no batch came along: when every shard is idle, the watermark advances without any record.
 */
import type { Context, KinesisStreamEvent, ScheduledEvent } from 'aws-lambda';
import { createKinesisClient } from '../adapters/aws-clients.ts';
import { createStateStore, loadPipelineConfig, logger } from '../adapters/environment.ts';
import { publishMetrics, tracedHandler } from '../adapters/observability.ts';
import { ShardDirectory } from '../adapters/shard-directory.ts';
import { batchMetrics, scheduledEmitMetrics } from './batch-metrics.ts';
import { shardIdOf, toBatchRecord } from './kinesis-records.ts';
import { ShardProcessor } from './shard-processor.ts';

/** The scheduled run leaves this much of the function's time unused, so it ends before the timeout. */
const SCHEDULED_EMIT_MARGIN_MS = 10_000;

const directory = new ShardDirectory(createKinesisClient());
let streamArn: string | undefined;
const config = loadPipelineConfig();
const viewNames = config.views.map((view) => view.name);
const processor = new ShardProcessor(config, createStateStore(), Date.now, async () =>
  streamArn ? directory.openShards(streamArn) : [],
);

const aggregate = async (event: KinesisStreamEvent | ScheduledEvent, context: Context): Promise<void> => {
  const startedAt = Date.now();
  if (!('Records' in event)) {
    const report = await processor.emitFinalWindows({
      entries: 10_000,
      deadline: Date.now() + context.getRemainingTimeInMillis() - SCHEDULED_EMIT_MARGIN_MS,
    });
    logger.info('scheduled emit', { ...report });
    publishMetrics(scheduledEmitMetrics(report));
    return;
  }
  const first = event.Records[0];
  if (!first) return;
  streamArn = first.eventSourceARN;
  const report = await processor.process(shardIdOf(first), event.Records.map(toBatchRecord));
  const emitError = report.emitError ?? report.emit?.firstError;
  if (emitError) logger.warn('final windows not emitted yet; a later run will try again', { error: emitError });
  logger.info('batch applied', { ...report });
  publishMetrics(batchMetrics(report, viewNames, { startedAt, now: Date.now() }));
};

export const handler = tracedHandler('aggregate', aggregate);
