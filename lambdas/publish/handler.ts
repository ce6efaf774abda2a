/**
 * DynamoDB stream of the emitted outbox → EventBridge. Each final window result written once to the outbox
 * (see lambdas/aggregate/window-emitter.ts) becomes one `Eddy Window Result` event on the results bus, so
 * other systems can subscribe with EventBridge rules.
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

const busName = requireEnv(RESOURCE_ENV.resultsBus);
const bus = new ResultsBus(createEventBridgeClient());

export function toEntry(record: DynamoDBRecord, eventBusName: string): PutEventsRequestEntry | undefined {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || !image?.pk?.S?.startsWith('emitted|')) return undefined;
  const view = image.view?.S ?? '';
  const windowStart = Number(image.ws?.N);
  const windowEnd = Number(image.we?.N);
  const group = JSON.parse(image.g?.S ?? '{}') as Record<string, string | null>;
  return {
    EventBusName: eventBusName,
    Source: 'eddy',
    DetailType: 'Eddy Window Result',
    Time: new Date(Number(image.at?.N)),
    Detail: JSON.stringify({
      id: `${view}/${image.gk?.S ?? ''}/${windowStart}`,
      view,
      group,
      windowStart: new Date(windowStart).toISOString(),
      windowEnd: new Date(windowEnd).toISOString(),
      final: true,
      measures: JSON.parse(image.m?.S ?? '{}') as unknown,
    }),
  };
}

const publishResults = async (event: DynamoDBStreamEvent): Promise<void> => {
  const entries = event.Records.map((r) => toEntry(r, busName)).filter((e) => e !== undefined);
  // A refusal throws: the stream batch is retried (bisected) until EventBridge takes it.
  await bus.put(entries);
  logger.info('published final windows', { count: entries.length });
};

export const handler = tracedHandler('publish', publishResults);
