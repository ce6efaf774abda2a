/**
 * DynamoDB stream of compacted windows → EventBridge. Each result chunk is written once (see
 * lambdas/aggregate/window-emitter.ts); each group's final result in it becomes one `Eddy Window Result`
 * event on the results bus, so other systems can subscribe with EventBridge rules.
 *
 * Delivery to EventBridge is at least once (a retried batch may put an event twice); each event carries the
 * window's identity (`id` = view/group/windowStart) so consumers can drop repeats.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createEventBridgeClient, requireEnv } from '../adapters/aws-clients.ts';
import { logger } from '../adapters/environment.ts';
import { tracedHandler } from '../adapters/observability.ts';
import { RESOURCE_ENV } from '../adapters/permissions.ts';
import { ResultsBus } from '../adapters/results-bus.ts';
import { groupObject, groupValuesOfKey } from '../core/group.ts';
import { unpackResults } from '../core/pane-log.ts';

const busName = requireEnv(RESOURCE_ENV.resultsBus);
const bus = new ResultsBus(createEventBridgeClient());

/**
 * The events of one stream record: a result chunk written for the first time (lambdas/adapters/dynamo/
 * compacted-items.ts) holds the results of many groups of one window, one event each. Anything else, and any
 * chunk of a view that does not publish, gives none.
 */
export function toEntries(record: DynamoDBRecord, eventBusName: string): PutEventsRequestEntry[] {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || !image?.pk?.S?.startsWith('win|') || image.pub?.BOOL !== true) return [];
  const view = image.view?.S ?? '';
  const groupBy = JSON.parse(image.gb?.S ?? '[]') as string[];
  // Binary attributes arrive base64-encoded in stream events.
  const data = Buffer.from(String(image.d?.B ?? ''), 'base64');
  return unpackResults(data).map((r) => {
    return {
      EventBusName: eventBusName,
      Source: 'eddy',
      DetailType: 'Eddy Window Result',
      Time: new Date(Number(image.at?.N)),
      Detail: JSON.stringify({
        id: `${view}/${r.groupKey}/${r.windowStart}`,
        view,
        group: groupObject({ groupBy }, groupValuesOfKey(r.groupKey)),
        windowStart: new Date(r.windowStart).toISOString(),
        windowEnd: new Date(r.windowEnd).toISOString(),
        final: true,
        measures: r.measures,
      }),
    };
  });
}

const publishResults = async (event: DynamoDBStreamEvent): Promise<void> => {
  const entries = event.Records.flatMap((r) => toEntries(r, busName));
  // A refusal throws: the stream batch is retried (bisected) until EventBridge takes it.
  await bus.put(entries);
  logger.info('published final windows', { count: entries.length });
};

export const handler = tracedHandler('publish', publishResults);
