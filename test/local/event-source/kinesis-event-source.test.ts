import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeStreamSummaryCommand, UpdateShardCountCommand } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../local/event-source/checkpoint-store.ts';
import {
  KinesisEventSource,
  type KinesisEventSourceOptions,
  type KinesisHandler,
} from '../../../local/event-source/kinesis-event-source.ts';
import type { EventSourceSettings } from '../../../local/event-source/settings.ts';
import { JsonLinesOnFailureDestination } from '../../../local/on-failure-destination.ts';
import type { LocalStream } from '../../../local/resources.ts';
import { putTexts, quiet, recordingHandler, type StreamEmulator, startStreamEmulator } from '../emulated-stream.ts';

let emulator: StreamEmulator;
let dir: string;
const sources: KinesisEventSource[] = [];

beforeAll(async () => {
  emulator = await startStreamEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'eddy-poller-'));
});

// Pollers left running would slow the shared emulator down for the tests after them.
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await emulator?.stop();
});

async function startSource(
  stream: LocalStream,
  handler: KinesisEventSourceOptions['handler'],
  settings: Partial<EventSourceSettings>,
  extra: Partial<KinesisEventSourceOptions> = {},
) {
  const onFailure = await JsonLinesOnFailureDestination.open(path.join(dir, `${stream.streamName}.jsonl`), {
    truncate: true,
  });
  const source = new KinesisEventSource({
    kinesis: emulator.kinesis,
    stream,
    handler,
    onFailure,
    settings: { maxBatchingWindowSeconds: 0, ...settings },
    idlePollMs: 50,
    retryBackoffMs: 5,
    log: quiet,
    ...extra,
  });
  sources.push(source);
  await source.start();
  return { source, onFailure };
}

const texts = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('KinesisEventSource delivery', () => {
  it('delivers every record exactly once, base64-encoded, in sequence order per shard', async () => {
    // GIVEN a two-shard stream with 120 records spread over both shards
    const stream = await emulator.newStream(2);
    const recorder = recordingHandler();
    const { source } = await startSource(stream, recorder.handler, { batchSize: 25 });
    const put = await putTexts(emulator.kinesis, stream.streamName, texts(120));

    // WHEN the event source has drained the stream
    await source.drained();

    // THEN each record arrived once, and each shard's records arrived in the order Kinesis stored them
    expect([...recorder.delivered()].sort()).toEqual(put.map((p) => p.data).sort());
    for (const shardId of new Set(put.map((p) => p.shardId))) {
      const expected = put.filter((p) => p.shardId === shardId).map((p) => p.sequenceNumber);
      const received = recorder.invocations
        .flatMap((i) => i.event.Records)
        .filter((r) => r.eventID.startsWith(`${shardId}:`))
        .map((r) => r.kinesis.sequenceNumber);
      expect(received).toEqual(expected);
    }
  });

  it('builds Kinesis records the way Lambda does', async () => {
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    const { source } = await startSource(stream, recorder.handler, {});
    const [put] = await putTexts(emulator.kinesis, stream.streamName, ['{"a":1}'], () => 'pk-1');

    await source.drained();

    const record = recorder.invocations[0]!.event.Records[0]!;
    expect(record).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk-1',
        sequenceNumber: put!.sequenceNumber,
        data: Buffer.from('{"a":1}').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${put!.shardId}:${put!.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/eddy-aggregate-role',
      awsRegion: 'us-east-1',
      eventSourceARN: stream.streamArn,
    });
    // Epoch seconds with a fraction, close to now.
    expect(Math.abs(record.kinesis.approximateArrivalTimestamp - Date.now() / 1000)).toBeLessThan(30);
  });

  it('never invokes with more records than the batch size', async () => {
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    const { source } = await startSource(stream, recorder.handler, { batchSize: 7 });
    await putTexts(emulator.kinesis, stream.streamName, texts(30));

    await source.drained();

    expect(recorder.invocations.map((i) => i.texts.length)).toEqual([7, 7, 7, 7, 2]);
  });

  it('waits for the batching window to gather records that arrive within it into one batch', async () => {
    // GIVEN a 1 s batching window and records put in two calls 300 ms apart
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    const { source } = await startSource(stream, recorder.handler, { batchSize: 100, maxBatchingWindowSeconds: 1 });
    const putAt = Date.now();
    await putTexts(emulator.kinesis, stream.streamName, texts(3, 'a'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await putTexts(emulator.kinesis, stream.streamName, texts(2, 'b'));

    await source.drained();

    // THEN one invocation carries all five, made only once the window had passed
    expect(recorder.invocations.map((i) => i.texts)).toEqual([['a0', 'a1', 'a2', 'b0', 'b1']]);
    expect(recorder.invocations[0]!.at - putAt).toBeGreaterThanOrEqual(950);
  });

  it('reads on while a batch is in flight, so records put during an invocation wait one window, not the invocation and a window', async () => {
    // GIVEN a 1 s batching window and a function whose first invocation takes 2 s
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    let first = true;
    const slowFirst: KinesisHandler = async (event) => {
      const result = await recorder.handler(event);
      if (first) {
        first = false;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      return result;
    };
    const { source } = await startSource(stream, slowFirst, { batchSize: 100, maxBatchingWindowSeconds: 1 });
    await putTexts(emulator.kinesis, stream.streamName, texts(2, 'a'));
    await expect.poll(() => recorder.invocations.length, { timeout: 10_000, interval: 20 }).toBe(1);

    // WHEN records are put while that invocation runs
    const putAt = Date.now();
    await putTexts(emulator.kinesis, stream.streamName, texts(2, 'b'));
    await source.drained();

    // THEN they make the next batch, invoked as the first ends (their window passed meanwhile), not a window later
    expect(recorder.invocations.map((i) => i.texts)).toEqual([
      ['a0', 'a1'],
      ['b0', 'b1'],
    ]);
    expect(recorder.invocations[1]!.at - putAt).toBeLessThan(2_600);
  });
});

describe('KinesisEventSource errors', () => {
  it('bisects a failing batch until the poison record is alone, and delivers all the others', async () => {
    // GIVEN a handler that fails any batch containing "poison", 2 retries, bisect on
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler((batch) => {
      if (batch.includes('poison')) throw new Error('cannot aggregate poison');
      return undefined;
    });
    const { source, onFailure } = await startSource(stream, recorder.handler, {
      batchSize: 10,
      retryAttempts: 2,
      bisectBatchOnError: true,
    });
    const records = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'poison', 'r7', 'r8', 'r9'];
    const put = await putTexts(emulator.kinesis, stream.streamName, records);

    await source.drained();

    // THEN the nine good records were delivered once each, in order
    expect(recorder.delivered()).toEqual(records.filter((r) => r !== 'poison'));
    // AND the poison record alone went to on-failure after its retries: invoked in batches of
    // 10, 5, 3 and 2 (splits do not use the retry quota), then alone 1 + 2 times
    const poison = put[6]!;
    expect(onFailure.records).toHaveLength(1);
    expect(onFailure.records[0]).toMatchObject({
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 7,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:eddy-aggregate',
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: poison.shardId,
        startSequenceNumber: poison.sequenceNumber,
        endSequenceNumber: poison.sequenceNumber,
        batchSize: 1,
        streamArn: stream.streamArn,
      },
    });
    expect(recorder.invocations.filter((i) => i.texts.length === 1 && i.texts[0] === 'poison')).toHaveLength(3);
    // AND the checkpoint moved past the whole batch
    expect(source.stats()[0]).toMatchObject({ lastSequence: put[9]!.sequenceNumber, records: 9, failures: 1 });
  });

  it('writes each on-failure record as a JSON line', async () => {
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler(() => {
      throw new Error('always fails');
    });
    const { source, onFailure } = await startSource(stream, recorder.handler, { retryAttempts: 0 });
    await putTexts(emulator.kinesis, stream.streamName, ['x']);

    await source.drained();

    const lines = (await readFile(onFailure.file, 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(onFailure.records);
  });

  it('without bisect, retries the whole batch and then gives it up as one', async () => {
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler((batch) => {
      if (batch.includes('poison')) throw new Error('cannot aggregate poison');
      return undefined;
    });
    const { source, onFailure } = await startSource(stream, recorder.handler, {
      batchSize: 10,
      retryAttempts: 3,
      bisectBatchOnError: false,
    });
    await putTexts(emulator.kinesis, stream.streamName, ['r0', 'poison', 'r2']);

    await source.drained();

    expect(recorder.invocations.map((i) => i.texts.length)).toEqual([3, 3, 3, 3]);
    expect(
      onFailure.records.map((r) => [r.KinesisBatchInfo.batchSize, r.requestContext.approximateInvokeCount]),
    ).toEqual([[3, 4]]);
  });

  it('retries a batch whose invocation ran past the function timeout, as Lambda does', async () => {
    // GIVEN a handler that hangs on its first invocation, and a 0.1 s function timeout
    const stream = await emulator.newStream(1);
    let calls = 0;
    const handler: KinesisHandler = async () => {
      if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
      return undefined;
    };
    const { source, onFailure } = await startSource(
      stream,
      handler,
      { retryAttempts: 2 },
      { functionTimeoutSeconds: 0.1 },
    );
    await putTexts(emulator.kinesis, stream.streamName, ['r0']);

    // WHEN the stream is drained
    await source.drained();

    // THEN the timed-out invocation counted as a failure and its batch was delivered again
    expect(calls).toBe(2);
    expect(source.stats()[0]).toMatchObject({ retries: 1 });
    expect(onFailure.records).toEqual([]);
  });

  it('resumes after the first failed item of a partial batch response', async () => {
    // GIVEN ReportBatchItemFailures and a handler that fails "r3" the first time it sees it
    const stream = await emulator.newStream(1);
    let failedOnce = false;
    const recorder = recordingHandler((batch, event) => {
      const index = batch.indexOf('r3');
      if (index === -1 || failedOnce) return undefined;
      failedOnce = true;
      return { batchItemFailures: [{ itemIdentifier: event.Records[index]!.kinesis.sequenceNumber }] };
    });
    const { source } = await startSource(stream, recorder.handler, { reportBatchItemFailures: true });
    await putTexts(emulator.kinesis, stream.streamName, texts(6));

    await source.drained();

    // THEN the records before r3 are not delivered again; r3 onwards are
    expect(recorder.invocations.map((i) => i.texts)).toEqual([texts(6), ['r3', 'r4', 'r5']]);
  });

  it('ignores a partial batch response unless ReportBatchItemFailures is on, as Lambda does', async () => {
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler((_batch, event) => ({
      batchItemFailures: [{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }],
    }));
    const { source } = await startSource(stream, recorder.handler, { reportBatchItemFailures: false });
    await putTexts(emulator.kinesis, stream.streamName, texts(3));

    await source.drained();

    expect(recorder.invocations).toHaveLength(1);
  });

  it('sends records older than the maximum record age to on-failure without invoking the function', async () => {
    // GIVEN a clock two minutes ahead and a maximum record age of one minute
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    const { source, onFailure } = await startSource(
      stream,
      recorder.handler,
      { maxRecordAgeSeconds: 60 },
      { now: () => Date.now() + 120_000 },
    );
    await putTexts(emulator.kinesis, stream.streamName, texts(4));

    await source.drained();

    expect(recorder.invocations).toHaveLength(0);
    expect(onFailure.records.map((r) => [r.requestContext.condition, r.requestContext.approximateInvokeCount])).toEqual(
      [['RecordAgeExceeded', 0]],
    );
    expect(onFailure.records[0]!.KinesisBatchInfo.batchSize).toBe(4);
  });
});

describe('KinesisEventSource checkpoints and shards', () => {
  it('resumes after its saved checkpoint when started again', async () => {
    // GIVEN a source that processed three records and was stopped
    const stream = await emulator.newStream(1);
    const file = path.join(dir, `${stream.streamName}-checkpoints.json`);
    const first = recordingHandler();
    const run1 = await startSource(
      stream,
      first.handler,
      {},
      { checkpoints: await CheckpointStore.open(file, stream) },
    );
    await putTexts(emulator.kinesis, stream.streamName, texts(3, 'old'));
    await run1.source.drained();
    await run1.source.stop();

    // WHEN a new source starts from the same checkpoint file and more records arrive
    const second = recordingHandler();
    const run2 = await startSource(
      stream,
      second.handler,
      {},
      { checkpoints: await CheckpointStore.open(file, stream) },
    );
    await putTexts(emulator.kinesis, stream.streamName, texts(2, 'new'));
    await run2.source.drained();

    // THEN only the new records are delivered
    expect(second.delivered()).toEqual(['new0', 'new1']);
  });

  it('starts child shards only after their parent was processed to its end', async () => {
    // GIVEN records in a one-shard stream, which is then split into two
    const stream = await emulator.newStream(1);
    const recorder = recordingHandler();
    const { source } = await startSource(stream, recorder.handler, { batchSize: 5 });
    await putTexts(emulator.kinesis, stream.streamName, texts(12, 'parent'));
    await emulator.kinesis.send(
      new UpdateShardCountCommand({
        StreamName: stream.streamName,
        TargetShardCount: 2,
        ScalingType: 'UNIFORM_SCALING',
      }),
    );
    await expect
      .poll(async () => {
        const { StreamDescriptionSummary } = await emulator.kinesis.send(
          new DescribeStreamSummaryCommand({ StreamName: stream.streamName }),
        );
        return StreamDescriptionSummary?.StreamStatus;
      })
      .toBe('ACTIVE');
    await putTexts(emulator.kinesis, stream.streamName, texts(12, 'child'));

    // WHEN the parent has been read to its end and the children drained
    await expect.poll(() => source.stats().filter((s) => s.state === 'polling').length, { timeout: 10_000 }).toBe(2);
    await source.drained();

    // THEN every parent record was delivered before any child record
    const delivered = recorder.delivered();
    expect(delivered).toHaveLength(24);
    expect(delivered.slice(0, 12)).toEqual(texts(12, 'parent'));
    expect(source.stats().find((s) => s.shardId === 'shardId-000000000000')?.state).toBe('ended');
  });
});
