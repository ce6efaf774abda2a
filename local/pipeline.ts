/**
 * The whole pipeline on this machine: emulators, the resources the CDK app declares, the real handlers, the
 * event source mapping and the HTTP API. `npm start` runs it; end-to-end tests start it in-process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Handler, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EMIT_SCHEDULE, EVENT_SOURCE, LOCAL_RESOURCES } from '../config/event-source.ts';
import { type LoadedConfig, loadConfigFile } from '../config/load.ts';
import { DynamoStateStore } from '../lambdas/adapters/dynamo-state-store.ts';
import { AGGREGATE_PERMISSIONS } from '../lambdas/aggregate/permissions.ts';
import { INGEST_PERMISSIONS } from '../lambdas/ingest/permissions.ts';
import { ON_FAILURE_PERMISSIONS } from '../lambdas/on-failure/permissions.ts';
import { QUERY_PERMISSIONS } from '../lambdas/query/permissions.ts';
import { type AnomalyAlerts, startAnomalyAlerts } from './anomaly-alerts.ts';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localDynamoClient,
  localKinesisClient,
} from './aws-clients.ts';
import { type AwsCall, installAwsTwin } from './aws-twin.ts';
import { type Emulators, startEmulators } from './emulators.ts';
import { CheckpointStore } from './event-source/checkpoint-store.ts';
import {
  KinesisEventSource,
  type KinesisEventSourceOptions,
  type KinesisHandler,
  type RestoredRecord,
} from './event-source/kinesis-event-source.ts';
import type { EventSourceSettings } from './event-source/settings.ts';
import { type LocalApi, type ProxyHandler, startLocalApi } from './http-server.ts';
import { invokeFunction } from './lambda-runtime.ts';
import { writeLocalEndpoints } from './local-endpoints.ts';
import { JsonLinesOnFailureDestination } from './on-failure-destination.ts';
import { ensureStream, ensureTable } from './resources.ts';
import { startSchedule } from './scheduler.ts';
import { installStreamJournal, StreamJournal } from './stream-journal.ts';

export const PROJECT_DIR = path.resolve(import.meta.dirname, '..');

/** The local functions' names (the CDK app lets CloudFormation name the deployed ones). */
export const FUNCTION_NAMES = {
  ingest: 'eddy-ingest',
  query: 'eddy-query',
  aggregate: 'eddy-aggregate',
  onFailure: 'eddy-on-failure',
} as const;

export interface PipelineHandlers {
  readonly ingest: ProxyHandler;
  readonly query: ProxyHandler;
  readonly aggregate: KinesisHandler;
  /** The on-failure queue's consumer (lambdas/on-failure). */
  readonly onFailure: Handler<SQSEvent, SQSBatchResponse>;
}

export interface LocalPipelineOptions {
  /** Views config file. @default config/views.ts */
  readonly configFile?: string;
  /** HTTP port; 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Require this `x-api-key` on routes that need a key on AWS. @default - no key needed */
  readonly apiKey?: string;
  /** @default LOCAL_RESOURCES.shardCount */
  readonly shards?: number;
  /** Where on-failure records and checkpoints go (and emulator data, with `persist`). @default <project>/.eddy */
  readonly dataDir?: string;
  /** Keep the stream, the table and the checkpoints in `dataDir` across restarts. @default false */
  readonly persist?: boolean;
  /** Stand-ins for the real handlers (tests). @default - lambdas/{ingest,aggregate,query}/handler.ts */
  readonly handlers?: Partial<PipelineHandlers>;
  /** Event source mapping settings and local polling knobs. @default - config/event-source.ts */
  readonly eventSource?: Partial<EventSourceSettings> &
    Pick<KinesisEventSourceOptions, 'idlePollMs' | 'retryBackoffMs' | 'maxRetryBackoffMs' | 'now'>;
  /** Progress and request lines. @default console.log */
  readonly log?: (line: string) => void;
  /** Sees every AWS call a handler makes, with whether its function's grants allow it (the grants test). */
  readonly recordAwsCalls?: (call: AwsCall) => void;
  /** POST each anomaly a view's detector reports to this URL (local/anomaly-alerts.ts). @default - print only */
  readonly alertWebhook?: string;
  /** How often anomalies are looked for, and the webhook's retries (tests). @default - local/anomaly-alerts.ts */
  readonly alerts?: { readonly pollMs?: number; readonly webhookAttempts?: number; readonly webhookBackoffMs?: number };
}

export interface LocalPipeline {
  /** HTTP API base URL, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly apiKey?: string;
  readonly alertWebhook?: string;
  readonly config: LoadedConfig;
  readonly streamName: string;
  readonly streamArn: string;
  readonly tableName: string;
  readonly kinesisEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly dataDir: string;
  readonly persistent: boolean;
  /** The event source mapping: `stats()`, `idle`, `drained()`. */
  readonly poller: KinesisEventSource;
  /** On-failure records, in memory (`records`) and as JSON lines (`file`). */
  readonly onFailure: JsonLinesOnFailureDestination;
  readonly checkpointFile: string;
  /** Anomalies printed (and POSTed to the webhook) so far. */
  readonly alerts: AnomalyAlerts;
  /** Clients for the emulators, for tests and tools; closed by stop(). */
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  /** The environment the handlers were given. */
  readonly handlerEnv: Readonly<Record<string, string>>;
  readonly startupMs: number;
  /** Stops the HTTP API, lets batches in flight finish, saves checkpoints, stops the emulators. Idempotent. */
  stop(): Promise<void>;
}

/** How long stop() waits for a batch in flight before stopping the emulators under it. */
const STOP_GRACE_MS = 10_000;

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const started = Date.now();
  const log = options.log ?? ((line) => console.log(line));
  const dataDir = path.resolve(options.dataDir ?? path.join(PROJECT_DIR, '.eddy'));
  const persistent = options.persist ?? false;
  // Config first: a bad views file should fail before anything starts.
  const config = await loadConfigFile(options.configFile);

  const cleanup: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const step of cleanup.reverse().splice(0)) {
      await step().catch((err) => log(`[local] while stopping: ${(err as Error).message}`));
    }
  };
  try {
    const emulators: Emulators = await startEmulators(persistent ? { persistDir: dataDir } : {});
    cleanup.push(() => emulators.stop());
    const kinesis = localKinesisClient(emulators.kinesisEndpoint);
    const dynamodb = localDynamoClient(emulators.dynamoEndpoint);
    cleanup.push(async () => {
      kinesis.destroy();
      dynamodb.destroy();
    });

    const { streamName, tableName } = LOCAL_RESOURCES;
    const handlerEnv: Record<string, string> = {
      TABLE_NAME: tableName,
      STREAM_NAME: streamName,
      EDDY_CONFIG: JSON.stringify(config.raw),
      EDDY_LOCAL: '1',
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_KINESIS: emulators.kinesisEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoEndpoint,
    };
    // Each function's SDK calls are held to its grants, as its role holds them on AWS (local/aws-twin.ts).
    installAwsTwin({
      functions: {
        [FUNCTION_NAMES.ingest]: INGEST_PERMISSIONS,
        [FUNCTION_NAMES.query]: QUERY_PERMISSIONS,
        [FUNCTION_NAMES.aggregate]: AGGREGATE_PERMISSIONS,
        [FUNCTION_NAMES.onFailure]: ON_FAILURE_PERMISSIONS,
      },
      resources: {
        table: { name: tableName, arn: `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${tableName}` },
        stream: { name: streamName, arn: `arn:aws:kinesis:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stream/${streamName}` },
      },
      record: options.recordAwsCalls,
    });
    // With --data-dir, every record a handler puts is journaled before it is acknowledged (local/stream-journal.ts).
    let journal: StreamJournal | undefined;
    if (persistent) {
      await mkdir(dataDir, { recursive: true });
      journal = StreamJournal.open(path.join(dataDir, 'stream-journal.jsonl'), streamName);
      const opened = journal;
      cleanup.push(async () => opened.close());
    }
    installStreamJournal(journal);
    // The handlers read their environment when their modules load: set it before importing them.
    Object.assign(process.env, handlerEnv);
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const [stream, , handlers] = await Promise.all([
      ensureStream(kinesis, streamName, options.shards ?? LOCAL_RESOURCES.shardCount),
      ensureTable(dynamodb, tableName),
      loadHandlers(options.handlers ?? {}, handlerEnv),
    ]);
    // With --data-dir the stream starts empty and the journal replays what it held, before anything else
    // reads or writes it.
    const restored = journal ? await journal.restore(kinesis) : new Map<string, RestoredRecord>();
    if (restored.size > 0) log(`[local] replayed ${restored.size} record(s) into the stream from ${journal!.file}`);

    const onFailure = await JsonLinesOnFailureDestination.open(path.join(dataDir, 'on-failure.jsonl'), {
      truncate: !persistent,
      // As the on-failure queue's SQS event source mapping does on AWS (with ReportBatchItemFailures).
      consumer: async (event) => {
        const { result } = await invokeFunction({ name: FUNCTION_NAMES.onFailure, handler: handlers.onFailure }, event);
        const failed = result?.batchItemFailures ?? [];
        if (failed.length > 0) throw new Error(`${FUNCTION_NAMES.onFailure} failed ${failed.length} message(s)`);
      },
    });
    // `npm run redrive` finds the running pipeline's emulators here (scripts/redrive.ts).
    await writeLocalEndpoints(dataDir, {
      kinesisEndpoint: emulators.kinesisEndpoint,
      dynamoEndpoint: emulators.dynamoEndpoint,
      streamName,
      tableName,
      configFile: config.file,
    });
    const checkpointFile = path.join(dataDir, 'checkpoints.json');
    // A fresh in-memory stream never matches the saved checkpoints, so it starts from TRIM_HORIZON.
    const checkpoints = await CheckpointStore.open(checkpointFile, stream);
    const { idlePollMs, retryBackoffMs, maxRetryBackoffMs, now, ...settings } = options.eventSource ?? {};
    const poller = new KinesisEventSource({
      kinesis,
      stream,
      handler: handlers.aggregate,
      functionName: FUNCTION_NAMES.aggregate,
      functionTimeoutSeconds: EVENT_SOURCE.functionTimeoutSeconds,
      onFailure,
      checkpoints,
      restored,
      settings,
      idlePollMs,
      retryBackoffMs,
      maxRetryBackoffMs,
      now,
      log,
    });
    // Before the poller: it skips anomalies of windows compacted before it started (a restart on kept state).
    const alerts = await startAnomalyAlerts({
      store: new DynamoStateStore(dynamodb, tableName),
      views: config.spec.views,
      log,
      ...(options.alertWebhook === undefined ? {} : { webhookUrl: options.alertWebhook }),
      ...options.alerts,
    });
    cleanup.push(() => alerts.stop());
    await poller.start();
    if (!options.handlers?.aggregate) {
      // The real aggregate handler also takes EventBridge's scheduled event; stand-ins in tests need not.
      const schedule = startSchedule(
        {
          name: FUNCTION_NAMES.aggregate,
          handler: handlers.aggregate as unknown as Handler<ScheduledEvent, unknown>,
          timeoutSeconds: EVENT_SOURCE.functionTimeoutSeconds,
        },
        EMIT_SCHEDULE.localEverySeconds * 1_000,
        log,
      );
      cleanup.push(() => schedule.stop());
    }
    cleanup.push(async () => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
      });
      const outcome = await Promise.race([poller.stop(), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout') log(`[local] a batch was still in flight after ${STOP_GRACE_MS} ms; stopping anyway`);
    });

    const api: LocalApi = await startLocalApi({
      handlers: { ingest: handlers.ingest, query: handlers.query },
      functionNames: { ingest: FUNCTION_NAMES.ingest, query: FUNCTION_NAMES.query },
      apiKey: options.apiKey,
      port: options.port ?? 3000,
      host: options.host,
      log,
    });
    cleanup.push(() => api.close());

    let stopping: Promise<void> | undefined;
    return {
      url: api.url,
      port: api.port,
      apiKey: options.apiKey,
      ...(options.alertWebhook === undefined ? {} : { alertWebhook: options.alertWebhook }),
      config,
      streamName,
      streamArn: stream.streamArn,
      tableName,
      kinesisEndpoint: emulators.kinesisEndpoint,
      dynamoEndpoint: emulators.dynamoEndpoint,
      dataDir,
      persistent,
      poller,
      onFailure,
      checkpointFile,
      alerts,
      kinesis,
      dynamodb,
      handlerEnv,
      startupMs: Date.now() - started,
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Handler modules are cached per process, with the environment they saw when they loaded. */
let realHandlersEnv: string | undefined;

async function loadHandlers(
  given: Partial<PipelineHandlers>,
  env: Readonly<Record<string, string>>,
): Promise<PipelineHandlers> {
  const needed = (['ingest', 'query', 'aggregate', 'onFailure'] as const).filter((name) => given[name] === undefined);
  if (needed.length > 0) {
    const signature = JSON.stringify(env);
    if (realHandlersEnv !== undefined && realHandlersEnv !== signature) {
      throw new Error(
        'the real handlers are already loaded in this process with another pipeline’s environment ' +
          '(they read it at module load): run one pipeline with real handlers per process',
      );
    }
    realHandlersEnv = signature;
  }
  const loaded = await Promise.all(needed.map(async (name) => [name, await importHandler(name)] as const));
  return { ...Object.fromEntries(loaded), ...given } as PipelineHandlers;
}

async function importHandler(name: keyof PipelineHandlers): Promise<ProxyHandler & KinesisHandler> {
  const file = path.join(PROJECT_DIR, 'lambdas', name === 'onFailure' ? 'on-failure' : name, 'handler.ts');
  let mod: { handler?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { handler?: unknown };
  } catch (err) {
    throw new Error(`cannot load the ${name} handler from ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof mod.handler !== 'function') {
    throw new Error(`${file} must export a function named handler (found ${typeof mod.handler})`);
  }
  return mod.handler as ProxyHandler & KinesisHandler;
}
