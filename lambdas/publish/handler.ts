/**
 * DynamoDB stream of the emitted outbox → EventBridge. Each final window result written once to the outbox
 * (see lambdas/aggregate/window-emitter.ts) becomes one `Eddy Window Result` event on the results bus, so
 * other systems can subscribe with EventBridge rules.
 *
 * Delivery to EventBridge is at least once (a retried batch may put an event twice); each event carries the
 * window's identity (`id` = view/group/windowStart) so consumers can drop repeats.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { requireEnv } from '../adapters/aws-clients.ts';
import { logger } from '../adapters/environment.ts';

const client = new EventBridgeClient({ maxAttempts: 8 });
const busName = requireEnv('EVENT_BUS_NAME');
/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_LIMIT = 10;

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

export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  const entries = event.Records.map((r) => toEntry(r, busName)).filter((e) => e !== undefined);
  for (let i = 0; i < entries.length; i += PUT_EVENTS_LIMIT) {
    const chunk = entries.slice(i, i + PUT_EVENTS_LIMIT);
    const out = await client.send(new PutEventsCommand({ Entries: chunk }));
    if (out.FailedEntryCount) {
      // Thrown, not logged and dropped: the stream batch is retried (bisected) until EventBridge takes it.
      const first = out.Entries?.find((e) => e.ErrorCode);
      throw new Error(
        `EventBridge refused ${out.FailedEntryCount} of ${chunk.length} results: ${first?.ErrorCode} ${first?.ErrorMessage}`,
      );
    }
  }
  logger.info('published final windows', { count: entries.length });
};
