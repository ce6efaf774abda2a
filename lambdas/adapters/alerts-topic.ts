/**
 * Anomalies → the `Alerts` SNS topic (lib/stateful-stack.ts), where people subscribe by email, HTTPS or SQS:
 * a short subject and a readable first line for email readers, then the anomaly as JSON for programs.
 */
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import type { Permission } from './permissions.ts';

export const ALERTS_TOPIC_PERMISSIONS: readonly Permission[] = [{ resource: 'alertsTopic', actions: ['sns:Publish'] }];

/** PublishBatch takes at most 10 messages per call. */
const PUBLISH_BATCH_LIMIT = 10;
/** SNS subjects are at most 100 characters. */
const MAX_SUBJECT = 100;

export interface Alert {
  /** Unique per anomaly, so a subscriber can drop a repeat (delivery is at least once). */
  readonly id: string;
  readonly subject: string;
  readonly text: string;
  readonly detail: unknown;
}

export class AlertsTopic {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  /** Publishes every alert, 10 per call; throws if SNS refused any, so the caller's batch is retried. */
  async publish(alerts: readonly Alert[]): Promise<void> {
    for (let i = 0; i < alerts.length; i += PUBLISH_BATCH_LIMIT) {
      const batch = alerts.slice(i, i + PUBLISH_BATCH_LIMIT);
      const entries: PublishBatchRequestEntry[] = batch.map((a, j) => ({
        Id: String(j),
        Subject: a.subject.slice(0, MAX_SUBJECT),
        Message: `${a.text}\n\n${JSON.stringify(a.detail, null, 2)}`,
        MessageAttributes: { id: { DataType: 'String', StringValue: a.id } },
      }));
      const out = await this.client.send(
        new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: entries }),
      );
      if (out.Failed && out.Failed.length > 0) {
        const first = out.Failed[0]!;
        throw new Error(
          `SNS refused ${out.Failed.length} of ${batch.length} alerts: ${first.Code} ${first.Message ?? ''}`,
        );
      }
    }
  }
}
