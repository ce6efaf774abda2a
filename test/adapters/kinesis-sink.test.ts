/** PutRecords partial failures (throttling) cannot be produced by kinesis-local: they are mocked here. */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { KinesisSink } from '../../lambdas/adapters/kinesis-sink.ts';

const kinesis = mockClient(KinesisClient);
afterEach(() => kinesis.reset());

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ data: Buffer.from(`r${i}`), id: i }));
const ok = (i: number) => ({ SequenceNumber: String(i), ShardId: 'shardId-000000000000' });
const throttled = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' };

describe('KinesisSink', () => {
  it('retries only the records PutRecords reported as failed, until they are written', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({ FailedRecordCount: 1, Records: [ok(1), throttled, ok(3)] })
      .resolvesOnce({ FailedRecordCount: 0, Records: [ok(2)] });
    const sink = new KinesisSink(new KinesisClient({ region: 'us-east-1' }), 's', { attempts: 3, baseDelayMs: 1 });
    const result = await sink.put(records(3));
    expect(result.written.map((r) => r.id).sort()).toEqual([0, 1, 2]);
    expect(result.failed).toEqual([]);
    const calls = kinesis.commandCalls(PutRecordsCommand);
    expect(calls[1]!.args[0].input.Records!.map((r) => Buffer.from(r.Data!).toString())).toEqual(['r1']);
  });

  it('reports records still failing after the last attempt, never as written', async () => {
    kinesis.on(PutRecordsCommand).resolves({ FailedRecordCount: 1, Records: [throttled] });
    const sink = new KinesisSink(new KinesisClient({ region: 'us-east-1' }), 's', { attempts: 2, baseDelayMs: 1 });
    const result = await sink.put(records(1));
    expect(result.written).toEqual([]);
    expect(result.failed).toEqual([
      {
        record: expect.objectContaining({ id: 0 }),
        error: expect.stringContaining('ProvisionedThroughputExceededException'),
      },
    ]);
  });

  it('splits more than 500 records into several calls', async () => {
    kinesis.on(PutRecordsCommand).callsFake((input: { Records: unknown[] }) => ({
      FailedRecordCount: 0,
      Records: input.Records.map((_, i) => ok(i)),
    }));
    const sink = new KinesisSink(new KinesisClient({ region: 'us-east-1' }), 's');
    const result = await sink.put(records(1200));
    expect(result.written).toHaveLength(1200);
    expect(kinesis.commandCalls(PutRecordsCommand).map((c) => c.args[0].input.Records!.length)).toEqual([
      500, 500, 200,
    ]);
  });
});

describe('KinesisSink when a call fails as a whole', () => {
  it('retries the records of a call that threw and reports them failed if it keeps throwing, without losing the written ones', async () => {
    kinesis
      .on(PutRecordsCommand)
      .resolvesOnce({ FailedRecordCount: 0, Records: Array.from({ length: 500 }, (_, i) => ok(i)) })
      .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const sink = new KinesisSink(new KinesisClient({ region: 'us-east-1' }), 's', { attempts: 2, baseDelayMs: 1 });
    const result = await sink.put(records(600));
    expect(result.written).toHaveLength(500);
    expect(result.failed).toHaveLength(100);
    expect(result.failed[0]!.error).toBe('TimeoutError: socket hang up');
  });
});
