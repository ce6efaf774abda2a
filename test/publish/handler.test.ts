/** The outbox stream → EventBridge publisher. EventBridge's partial failures are mocked (no emulator has them). */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const eventBridge = mockClient(EventBridgeClient);
let publish: typeof import('../../lambdas/publish/handler.ts');

beforeAll(async () => {
  process.env.EVENT_BUS_NAME = 'eddy-results';
  publish = await import('../../lambdas/publish/handler.ts');
});
afterEach(() => eventBridge.reset());

function inserted(pk: string, n = 0): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    dynamodb: {
      NewImage: {
        pk: { S: pk },
        sk: { S: `x${n}` },
        view: { S: 'bids_per_auction' },
        gk: { S: '["5003"]' },
        g: { S: '{"auction":"5003"}' },
        ws: { N: String(1_795_514_400_000 + n * 10_000) },
        we: { N: String(1_795_514_410_000 + n * 10_000) },
        m: { S: '{"count":2}' },
        at: { N: '1795514430000' },
      },
    },
  };
}

describe('publish handler', () => {
  it('turns an inserted emitted result into one EventBridge event identified by view, group and window', () => {
    const entry = publish.toEntry(inserted('emitted|bids_per_auction@abc'), 'eddy-results');
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

  it('ignores other items and modifications', () => {
    expect(publish.toEntry(inserted('pane|v@1|["a"]'), 'b')).toBeUndefined();
    expect(publish.toEntry({ ...inserted('emitted|v@1'), eventName: 'MODIFY' }, 'b')).toBeUndefined();
  });

  it('puts at most 10 events per call', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publish.handler({ Records: Array.from({ length: 23 }, (_, i) => inserted('emitted|v@1', i)) });
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 3]);
  });

  it('fails the batch when EventBridge refuses an entry, so the stream retries it', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    await expect(publish.handler({ Records: [inserted('emitted|v@1')] })).rejects.toThrow(
      /refused 1 of 1 results: ThrottlingException/,
    );
  });
});
