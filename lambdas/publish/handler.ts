/**
 * DynamoDB stream of compacted windows and anomalies → EventBridge and the Alerts topic. Each result chunk is
 * written once (see lambdas/aggregate/window-emitter.ts); each group's final result in it becomes one `Eddy
 * Window Result` event on the results bus, so other systems can subscribe with EventBridge rules. Each
 * anomaly is written once too (lambdas/adapters/dynamo/anomaly-items.ts): it becomes an `Eddy Anomaly` event
 * and a message on the Alerts topic, for people.
 *
 * Delivery to EventBridge is at least once (a retried batch may put an event twice); each event carries the
 * window's identity (`id` = view/group/windowStart) so consumers can drop repeats.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type Alert, AlertsTopic } from '../adapters/alerts-topic.ts';
import { createEventBridgeClient, createSnsClient, requireEnv } from '../adapters/aws-clients.ts';
import { anomalyFromItem } from '../adapters/dynamo/anomaly-items.ts';
import type { Item } from '../adapters/dynamo/table.ts';
import { logger } from '../adapters/environment.ts';
import { tracedHandler } from '../adapters/observability.ts';
import { RESOURCE_ENV } from '../adapters/permissions.ts';
import { ResultsBus } from '../adapters/results-bus.ts';
import { anomalyId, anomalyLine, anomalyReport, windowScoreField } from '../core/anomaly/report.ts';
import { groupObject, groupValuesOfKey } from '../core/group.ts';
import { unpackResults } from '../core/pane-log.ts';

const busName = requireEnv(RESOURCE_ENV.resultsBus);
const bus = new ResultsBus(createEventBridgeClient());
const alerts = new AlertsTopic(createSnsClient(), requireEnv(RESOURCE_ENV.alertsTopic));

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
        ...windowScoreField(r.score),
      }),
    };
  });
}

/** An anomaly's first write (nothing else): its `Eddy Anomaly` event and its alert. */
export function toAnomaly(
  record: DynamoDBRecord,
  eventBusName: string,
): { entry: PutEventsRequestEntry; alert: Alert } | null {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || !image?.pk?.S?.startsWith('anom|')) return null;
  const anomaly = anomalyFromItem(image as Item);
  const id = anomalyId(anomaly);
  const detail = { id, ...anomalyReport(anomaly) };
  return {
    entry: {
      EventBusName: eventBusName,
      Source: 'eddy',
      DetailType: 'Eddy Anomaly',
      Time: new Date(anomaly.detectedAt),
      Detail: JSON.stringify(detail),
    },
    alert: { id, subject: `Eddy anomaly: ${anomaly.view} ${anomaly.measure}`, text: anomalyLine(anomaly), detail },
  };
}

const publishResults = async (event: DynamoDBStreamEvent): Promise<void> => {
  const entries = event.Records.flatMap((r) => toEntries(r, busName));
  const anomalies = event.Records.flatMap((r) => toAnomaly(r, busName) ?? []);
  // A refusal throws: the stream batch is retried (bisected) until EventBridge and SNS take it.
  await bus.put([...entries, ...anomalies.map((a) => a.entry)]);
  await alerts.publish(anomalies.map((a) => a.alert));
  logger.info('published final windows', { count: entries.length, anomalies: anomalies.length });
};

export const handler = tracedHandler('publish', publishResults);
