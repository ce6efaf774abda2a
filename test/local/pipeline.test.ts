import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_RESOURCES } from '../../config/event-source.ts';
import { localDynamoClient, localKinesisClient } from '../../local/aws-clients.ts';
import { parseCommandLine } from '../../local/main.ts';
import { type LocalPipeline, type PipelineHandlers, startLocalPipeline } from '../../local/pipeline.ts';
import { quiet } from './emulated-stream.ts';

/**
 * Stand-ins for the functions that use only what the runtime promises them: their environment
 * (names and emulator endpoints through the SDK's AWS_ENDPOINT_URL_* variables) and their events.
 * POST /events puts the body on the stream; the aggregator stores each record by its data; GET
 * /views/{view}/results reads one back. Nothing is given up on here, so the on-failure consumer takes
 * whatever it gets.
 */
function standInHandlers(): PipelineHandlers {
  const kinesis = () => localKinesisClient(process.env.AWS_ENDPOINT_URL_KINESIS!);
  const dynamodb = () => localDynamoClient(process.env.AWS_ENDPOINT_URL_DYNAMODB!);
  return {
    ingest: async (event) => {
      await kinesis().send(
        new PutRecordCommand({
          StreamName: process.env.STREAM_NAME,
          Data: Buffer.from(event.body ?? ''),
          PartitionKey: 'p',
        }),
      );
      return { statusCode: 202, body: '{"accepted":1}' };
    },
    aggregate: async (event) => {
      for (const record of event.Records) {
        const text = Buffer.from(record.kinesis.data, 'base64').toString('utf8');
        await dynamodb().send(
          new PutItemCommand({
            TableName: process.env.TABLE_NAME,
            Item: { pk: { S: 'seen' }, sk: { S: text }, seq: { S: record.kinesis.sequenceNumber } },
          }),
        );
      }
    },
    query: async (event) => {
      const { Item } = await dynamodb().send(
        new GetItemCommand({
          TableName: process.env.TABLE_NAME,
          Key: { pk: { S: 'seen' }, sk: { S: event.pathParameters?.view ?? '' } },
        }),
      );
      return { statusCode: Item ? 200 : 404, body: JSON.stringify({ found: !!Item }) };
    },
    onFailure: async () => ({ batchItemFailures: [] }),
  };
}

describe('startLocalPipeline', () => {
  let pipeline: LocalPipeline;

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      port: 0,
      dataDir: await mkdtemp(path.join(tmpdir(), 'eddy-pipeline-')),
      handlers: standInHandlers(),
      eventSource: { idlePollMs: 50 },
      apiKey: 'k',
      log: quiet,
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('carries a POSTed body through ingest, the stream and the aggregator into the table', async () => {
    const posted = await fetch(`${pipeline.url}/events`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: 'e1' });
    expect(posted.status).toBe(202);

    await pipeline.poller.drained();

    const read = await fetch(`${pipeline.url}/views/e1/results`, { headers: { 'x-api-key': 'k' } });
    expect(await read.json()).toEqual({ found: true });
  });

  it('creates one polled shard per configured shard, from the default views config', () => {
    expect(pipeline.poller.stats().map((s) => s.state)).toEqual(
      Array.from({ length: LOCAL_RESOURCES.shardCount }, () => 'polling'),
    );
    expect(pipeline.config.spec.views.map((v) => v.name)).toContain('bids_per_auction');
  });

  it('gives the handlers the views config as written', () => {
    expect(JSON.parse(pipeline.handlerEnv.EDDY_CONFIG!)).toEqual(pipeline.config.raw);
  });
});

describe('startLocalPipeline lifecycle', () => {
  it('runs two pipelines side by side and stops both, emulators included', async () => {
    const start = async () =>
      startLocalPipeline({
        port: 0,
        dataDir: await mkdtemp(path.join(tmpdir(), 'eddy-pipeline-')),
        handlers: standInHandlers(),
        log: quiet,
      });
    const [a, b] = await Promise.all([start(), start()]);
    expect(new Set([a.url, b.url, a.kinesisEndpoint, b.kinesisEndpoint]).size).toBe(4);
    expect(a.startupMs).toBeLessThan(10_000);

    const stopping = Date.now();
    await Promise.all([a.stop(), b.stop()]);

    expect(Date.now() - stopping).toBeLessThan(3_000);
    await expect(fetch(`${a.url}/health`)).rejects.toThrow();
    await expect(fetch(`${a.dynamoEndpoint}/`)).rejects.toThrow();
    await expect(fetch(`${b.kinesisEndpoint}/`)).rejects.toThrow();
  });
});

describe('npm start options', () => {
  it('defaults to port 3000 and in-memory state', () => {
    expect(parseCommandLine([], {})).toMatchObject({ port: 3000, persist: false, apiKey: undefined });
  });

  it('takes the port from PORT unless --port is given', () => {
    expect(parseCommandLine([], { PORT: '8080' })).toMatchObject({ port: 8080 });
    expect(parseCommandLine(['--port', '9000'], { PORT: '8080' })).toMatchObject({ port: 9000 });
  });

  it('keeps state when given a data dir', () => {
    expect(parseCommandLine(['--data-dir', 'state', '--shards', '4'], {})).toMatchObject({
      dataDir: 'state',
      persist: true,
      shards: 4,
    });
  });

  it('names a bad shard count', () => {
    expect(() => parseCommandLine(['--shards', '0'], {})).toThrow(
      '--shards must be an integer from 1 to 50 (given "0")',
    );
  });

  it('takes an http or https alert webhook, and none by default', () => {
    expect(parseCommandLine(['--alert-webhook', 'http://127.0.0.1:9000/hook'], {})).toMatchObject({
      alertWebhook: 'http://127.0.0.1:9000/hook',
    });
    expect(parseCommandLine(['--alert-webhook', 'https://hooks.example.com/eddy?x=1'], {})).toMatchObject({
      alertWebhook: 'https://hooks.example.com/eddy?x=1',
    });
    expect(parseCommandLine([], {})).not.toHaveProperty('alertWebhook');
  });

  it.each([
    ['ftp://x', '"ftp://x"'],
    ['', '""'],
    ['https://', '"https://"'],
  ])('names a bad alert webhook (%j)', (url, given) => {
    expect(() => parseCommandLine(['--alert-webhook', url], {})).toThrow(
      `--alert-webhook must be an http:// or https:// URL (given ${given})`,
    );
  });
});
