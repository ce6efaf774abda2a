/**
 * The table's stream → EventBridge and SNS publisher. EventBridge's and SNS's partial failures are mocked (no
 * emulator has them).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anomalyItem } from '../../lambdas/adapters/dynamo/anomaly-items.ts';
import { groupHash, packResults } from '../../lambdas/core/pane-log.ts';

const eventBridge = mockClient(EventBridgeClient);
const sns = mockClient(SNSClient);
let publish: typeof import('../../lambdas/publish/handler.ts');
const TOPIC = 'arn:aws:sns:us-east-1:111111111111:eddy-alerts';

beforeAll(async () => {
  process.env.EVENT_BUS_NAME = 'eddy-results';
  process.env.ALERTS_TOPIC_ARN = TOPIC;
  publish = await import('../../lambdas/publish/handler.ts');
});
afterEach(() => {
  eventBridge.reset();
  sns.reset();
});

/** An anomaly's first write, as the table's stream delivers it. */
function anomalyInserted(windowStart = 1_795_514_400_000): DynamoDBRecord {
  const item = anomalyItem(
    'bids_per_auction@abc',
    {
      view: 'bids_per_auction',
      groupBy: ['auction'],
      groupKey: '["5003"]',
      windowStart,
      windowEnd: windowStart + 10_000,
      measure: 'count',
      value: 250,
      score: 9.1,
      expected: { low: 80, high: 120 },
      detectedAt: windowStart + 20_000,
    },
    1_796_000_000,
  );
  // biome-ignore lint/suspicious/noExplicitAny: the stream's image type and the SDK's item type differ only in name
  return { eventName: 'INSERT', dynamodb: { NewImage: item as any } };
}

/** A result chunk's first write, as the table's stream delivers it (binary attributes in base64). */
function inserted(pk: string, n = 0, results = 1, pub = true): DynamoDBRecord {
  const rows = Array.from({ length: results }, (_, i) => ({
    groupKey: `["${5003 + i}"]`,
    windowStart: 1_795_514_400_000 + n * 10_000,
    windowEnd: 1_795_514_410_000 + n * 10_000,
    count: 2,
    measures: { count: 2 },
  }));
  const [chunk] = packResults(rows);
  return {
    eventName: 'INSERT',
    dynamodb: {
      NewImage: {
        pk: { S: pk },
        sk: { S: '00000000' },
        view: { S: 'bids_per_auction' },
        gb: { S: '["auction"]' },
        pub: { BOOL: pub },
        d: { B: Buffer.from(chunk!.data).toString('base64') },
        at: { N: '1795514430000' },
      },
    },
  };
}

describe('publish handler', () => {
  it('turns each result of an inserted chunk into one EventBridge event identified by view, group and window', () => {
    const entries = publish.toEntries(inserted('win|bids_per_auction@abc|001795514400000|000', 0, 3), 'eddy-results');
    expect(entries.map((e) => JSON.parse(e.Detail!).group)).toEqual(
      [{ auction: '5003' }, { auction: '5004' }, { auction: '5005' }].sort(
        (a, b) => groupHash(`["${a.auction}"]`) - groupHash(`["${b.auction}"]`),
      ),
    );
    const entry = entries.find((e) => JSON.parse(e.Detail!).group.auction === '5003');
    expect(entry).toMatchObject({ EventBusName: 'eddy-results', Source: 'eddy', DetailType: 'Eddy Window Result' });
    expect(JSON.parse(entry!.Detail!)).toEqual({
      id: 'bids_per_auction/["5003"]/1795514400000',
      view: 'bids_per_auction',
      group: { auction: '5003' },
      windowStart: '2026-11-24T10:00:00.000Z',
      windowEnd: '2026-11-24T10:00:10.000Z',
      final: true,
      measures: { count: 2 },
    });
  });

  it('ignores other items, modifications and chunks of views that do not publish', () => {
    expect(publish.toEntries(inserted('log|v@1|0'), 'b')).toEqual([]);
    expect(publish.toEntries({ ...inserted('win|v@1|0|0'), eventName: 'MODIFY' }, 'b')).toEqual([]);
    expect(publish.toEntries(inserted('win|v@1|0|0', 0, 1, false), 'b')).toEqual([]);
  });

  it('puts at most 10 events per call', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publish.handler({ Records: Array.from({ length: 23 }, (_, i) => inserted('win|v@1|0|0', i)) });
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 3]);
  });

  it('fails the batch when EventBridge refuses an entry, so the stream retries it', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    await expect(publish.handler({ Records: [inserted('win|v@1|0|0')] })).rejects.toThrow(
      /refused 1 of 1 results: ThrottlingException/,
    );
  });

  it('turns an inserted anomaly into one Eddy Anomaly event and one alert', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
    await publish.handler({ Records: [anomalyInserted(), inserted('win|v@1|0|0')] });

    const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!);
    const anomaly = entries.find((e) => e.DetailType === 'Eddy Anomaly');
    expect(JSON.parse(anomaly!.Detail!)).toEqual({
      id: 'bids_per_auction/["5003"]/1795514400000',
      view: 'bids_per_auction',
      group: { auction: '5003' },
      windowStart: '2026-11-24T10:00:00.000Z',
      windowEnd: '2026-11-24T10:00:10.000Z',
      measure: 'count',
      value: 250,
      score: 9.1,
      expected: { low: 80, high: 120 },
      detectedAt: '2026-11-24T10:00:20.000Z',
    });
    const [call] = sns.commandCalls(PublishBatchCommand);
    expect(call!.args[0].input.TopicArn).toBe(TOPIC);
    const [message] = call!.args[0].input.PublishBatchRequestEntries!;
    expect(message!.Subject).toBe('Eddy anomaly: bids_per_auction count');
    expect(message!.Message!.split('\n')[0]).toBe(
      'anomaly bids_per_auction auction=5003 2026-11-24T10:00:00Z+10s: count 250 above expected 80..120 (score 9.1)',
    );
  });

  it('fails the batch when SNS refuses an alert, so the stream retries it', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sns.on(PublishBatchCommand).resolves({ Failed: [{ Id: '0', Code: 'Throttled', SenderFault: false }] });
    await expect(publish.handler({ Records: [anomalyInserted()] })).rejects.toThrow(
      /SNS refused 1 of 1 alerts: Throttled/,
    );
  });

  it('publishes no alert for result chunks', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publish.handler({ Records: [inserted('win|v@1|0|0')] });
    expect(sns.commandCalls(PublishBatchCommand)).toEqual([]);
  });
});
