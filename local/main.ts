/**
 * `npm start`: the whole pipeline on this machine. See `npm start -- --help`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { API_ROUTES } from '../config/api-routes.ts';
import { LOCAL_RESOURCES, shardIdleAfterMs } from '../config/event-source.ts';
import { DEFAULT_CONFIG_FILE } from '../config/load.ts';
import { DynamoStateStore } from '../lambdas/adapters/dynamo-state-store.ts';
import type { ViewSpec } from '../lambdas/core/config.ts';
import { pipelineCounters } from '../lambdas/core/conservation.ts';
import { pipelineWatermark, resultsWatermark } from '../lambdas/core/watermark.ts';
import { type LocalPipeline, type LocalPipelineOptions, PROJECT_DIR, startLocalPipeline } from './pipeline.ts';

const USAGE = `Usage: npm start -- [options]

Runs Eddy on this machine: Kinesis and DynamoDB emulators, the real Lambda handlers, the event source
mapping and the HTTP API. No Docker, no AWS account.

Options:
  --config FILE     views config (.ts, .js or .json)        default: config/views.ts
  --port N          HTTP port (or env PORT; 0 = any free)   default: 3000
  --api-key KEY     require x-api-key on the routes that need one on AWS   default: no key
  --shards N        shards in the local stream              default: ${LOCAL_RESOURCES.shardCount}
  --data-dir DIR    keep stream, table and checkpoints in DIR across restarts
                    default: in memory; .eddy/ holds the on-failure records and checkpoints
  --alert-webhook URL   POST each anomaly a view's detector reports to URL (JSON; retried)
                    default: anomalies are printed only
  -h, --help        show this help
`;

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): LocalPipelineOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string' },
      shards: { type: 'string' },
      'data-dir': { type: 'string' },
      'alert-webhook': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const port = integerOption('--port', values.port ?? env.PORT ?? '3000', 0, 65_535);
  const shards = values.shards === undefined ? undefined : integerOption('--shards', values.shards, 1, 50);
  if (values['api-key'] === '') throw new Error('--api-key must not be empty');
  const webhook = values['alert-webhook'];
  if (webhook !== undefined && !/^https?:\/\/[^\s/]+/.test(webhook)) {
    throw new Error(`--alert-webhook must be an http:// or https:// URL (given ${JSON.stringify(webhook)})`);
  }
  return {
    configFile: values.config,
    port,
    apiKey: values['api-key'],
    shards,
    dataDir: values['data-dir'],
    persist: values['data-dir'] !== undefined,
    ...(webhook === undefined ? {} : { alertWebhook: webhook }),
  };
}

function integerOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max} (given ${JSON.stringify(value)})`);
  }
  return n;
}

export function banner(p: LocalPipeline): string {
  const key = p.apiKey === undefined ? '' : ` -H 'x-api-key: ${p.apiKey}'`;
  const first = p.config.spec.views[0];
  const lines = [
    '',
    `Eddy is running locally (ready in ${(p.startupMs / 1_000).toFixed(1)} s)`,
    '',
    `  API          ${p.url}${p.apiKey === undefined ? '   (no API key needed)' : `   (x-api-key: ${p.apiKey})`}`,
  ];
  for (const route of API_ROUTES) lines.push(`    ${route.method.padEnd(5)}${route.resource}`);
  lines.push('', `  Dashboard    ${p.url}/`);
  lines.push('', '  Try:');
  lines.push(
    `    curl -s -X POST ${p.url}/events -H 'content-type: application/json'${key} \\`,
    `      -d '${JSON.stringify([sampleEvent(p.config.spec.eventTimeField, first)])}'`,
    `    curl -s ${p.url}/views${key}`,
  );
  if (first) {
    const sample = sampleEvent(p.config.spec.eventTimeField, first);
    const group = first.groupBy.map((f) => `${f}=${encodeURIComponent(String(sample[f]))}`).join('&');
    lines.push(`    curl -s '${p.url}/views/${first.name}/results${group ? `?${group}` : ''}'${key}`);
  }
  lines.push(`    curl -s ${p.url}/status${key}`);
  lines.push(
    '',
    `  Views        ${p.config.spec.views.map((v) => v.name).join(', ')}   (from ${relative(p.config.file)})`,
    `  Kinesis      ${p.kinesisEndpoint}   stream ${p.streamName}, ${p.poller.stats().length} shard(s)`,
    `  DynamoDB     ${p.dynamoEndpoint}   table ${p.tableName}`,
    `  Batching     ${describeSettings(p)}`,
    `  On-failure   ${relative(p.onFailure.file)}`,
    `  State        ${p.persistent ? `kept in ${relative(p.dataDir)}` : 'in memory (use --data-dir DIR to keep it)'}`,
    `  Anomalies    ${describeAlerts(p)}`,
    '',
    'Ctrl-C to stop.',
    '',
  );
  return lines.join('\n');
}

function sampleEvent(timeField: string, view: ViewSpec | undefined): Record<string, unknown> {
  const event: Record<string, unknown> = { [timeField]: new Date().toISOString() };
  for (const [field, value] of view?.where ?? []) event[field] = value;
  for (const field of view?.groupBy ?? []) event[field] ??= 'a1';
  for (const measure of view?.measures ?? []) if ('field' in measure) event[measure.field] ??= 42;
  return event;
}

function describeSettings(p: LocalPipeline): string {
  const s = p.poller.settings;
  return (
    `batch ${s.batchSize}, window ${s.maxBatchingWindowSeconds} s, ${s.retryAttempts} retries, ` +
    `bisect ${s.bisectBatchOnError ? 'on' : 'off'}, max record age ${s.maxRecordAgeSeconds} s`
  );
}

function describeAlerts(p: LocalPipeline): string {
  const scored = p.config.spec.views
    .filter((v) => v.anomaly)
    .map((v) => `${v.name} (${v.anomaly!.measure}, ${v.anomaly!.method})`);
  if (scored.length === 0) return 'no view has a detector (add anomaly: {...} to a view)';
  return `${scored.join(', ')}: printed here${p.alertWebhook ? `, POSTed to ${p.alertWebhook}` : ''}`;
}

function relative(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel || '.';
}

/** Every few seconds while events flow, one line of the pipeline's counters, so a running pipeline shows progress. */
function reportProgress(p: LocalPipeline): NodeJS.Timeout {
  const store = new DynamoStateStore(p.dynamodb, p.tableName);
  const spec = p.config.spec;
  const watermarks = { outOfOrdernessMs: spec.outOfOrdernessMs, idleAfterMs: shardIdleAfterMs(spec.idleTimeoutMs) };
  let last = '';
  let lastProcessed = 0;
  let lastAt = Date.now();
  const timer = setInterval(async () => {
    try {
      const [states, ingest, emittedThrough] = await Promise.all([
        store.getShardStates(),
        store.getIngestCounts(),
        store.getEmittedThrough(),
      ]);
      const { events } = pipelineCounters(states, ingest, []);
      // The watermark /status shows: the same formula, so the two never disagree.
      const wm = resultsWatermark(pipelineWatermark(states, Date.now(), watermarks), emittedThrough);
      const line =
        `accepted ${events.accepted} · rejected ${events.rejected} · processed ${events.processed} · ` +
        `late ${events.late} · dead-lettered ${events.deadLettered} · in flight ${events.inFlight} · ` +
        `watermark ${wm === null ? '-' : new Date(wm).toISOString()}`;
      if (line === last) return;
      const now = Date.now();
      const rate = ((events.processed - lastProcessed) * 1000) / (now - lastAt);
      console.log(`[${new Date(now).toISOString().slice(11, 19)}] ${line} · ${Math.round(rate)} events/s`);
      last = line;
      lastProcessed = events.processed;
      lastAt = now;
    } catch {
      // The next tick tries again; stopping the pipeline clears the timer.
    }
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return timer;
}

const PROGRESS_EVERY_MS = 5_000;

async function main(): Promise<void> {
  // The handlers log one JSON line per batch at INFO (CloudWatch reads them on AWS); here a progress line
  // every few seconds says more. The SDK's notice that releases after January 2027 need Node 22 is about
  // future versions, not the pinned ones. Both can be turned back on from the environment.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  // Metrics are EMF lines on stdout, read by CloudWatch on AWS; tracing needs Lambda's X-Ray daemon.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let options: LocalPipelineOptions | 'help';
  try {
    options = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  console.log(
    `Starting Eddy with ${relative(options.configFile ?? DEFAULT_CONFIG_FILE)} in ${relative(PROJECT_DIR)} ...`,
  );
  let pipeline: LocalPipeline;
  try {
    pipeline = await startLocalPipeline(options);
  } catch (err) {
    console.error(`\nEddy could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(banner(pipeline));
  const progress = reportProgress(pipeline);

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    clearInterval(progress);
    console.log(`\n${signal}: stopping (Ctrl-C again to exit at once) ...`);
    pipeline.stop().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`Stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('local/main.ts')) {
  await main();
}
