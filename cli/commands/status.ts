/** `eddy status`: the pipeline's counters, watermark and shards (GET /status). */
import { Command } from 'commander';
import { Api, type ApiOptions, addApiOptions } from '../connection.ts';
import type { Cli } from '../context.ts';
import { count, duration, table, time } from '../format.ts';

interface StatusOptions extends ApiOptions {
  readonly json?: boolean;
}

/** GET /status, as far as the CLI reads it; fields it does not know are printed by name. */
export interface StatusReply {
  readonly events: Readonly<Record<string, number>>;
  readonly requestsRejected?: number;
  readonly failedBatches?: { readonly pending: number; readonly redriven: number };
  readonly lateByView?: Readonly<Record<string, number>>;
  readonly watermark: string | null;
  readonly shards: ReadonlyArray<{
    readonly shardId: string;
    readonly watermark: string | null;
    readonly maxEventTime: string | null;
    readonly lastBatchAt: string | null;
    readonly idle: boolean;
    readonly batches: number;
    readonly processed: number;
  }>;
}

const EVENT_LABELS: Readonly<Record<string, string>> = {
  accepted: 'accepted',
  rejected: 'rejected',
  processed: 'processed',
  late: 'late',
  deadLettered: 'dead-lettered',
  givenUp: 'given up',
  duplicates: 'duplicates',
  inFlight: 'in flight',
};

export function statusCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('status')
      .summary('pipeline counters, watermark and shards')
      .description(
        'pipeline counters (accepted = processed + dead-lettered + given up + in flight), the watermark and its ' +
          'lag behind the clock, and each shard (GET /status)',
      )
      .option('--json', 'print GET /status as the API answered it'),
  ).action(async (options: StatusOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const status = await api.get<StatusReply>('/status');
    cli.out(options.json ? JSON.stringify(status, null, 2) : formatStatus(status, api.url, Date.now()));
  });
}

export function formatStatus(status: StatusReply, url: string, nowMs: number): string {
  const rows: Array<[string, string]> = Object.entries(status.events).map(([key, n]) => [
    EVENT_LABELS[key] ?? key,
    count(n),
  ]);
  const late = Object.entries(status.lateByView ?? {}).filter(([, n]) => n > 0);
  if (late.length > 0) {
    const i = rows.findIndex(([label]) => label === 'late');
    if (i >= 0) rows[i]![1] += `  (${late.map(([view, n]) => `${view} ${count(n)}`).join(', ')})`;
  }
  if (status.requestsRejected !== undefined) rows.push(['requests refused', count(status.requestsRejected)]);
  if (status.failedBatches !== undefined) {
    rows.push([
      'failed batches',
      `${count(status.failedBatches.pending)} pending, ${count(status.failedBatches.redriven)} redriven`,
    ]);
  }
  const lag = status.watermark === null ? '' : `, ${duration(nowMs - Date.parse(status.watermark))} behind the clock`;
  rows.push([
    'watermark',
    status.watermark === null ? '- (no window can be final yet)' : `${time(status.watermark)}${lag}`,
  ]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const shards = table(
    ['shard', 'watermark', 'newest event', 'last batch', 'idle', 'batches', 'processed'],
    status.shards.map((s) => [
      s.shardId,
      time(s.watermark),
      time(s.maxEventTime),
      time(s.lastBatchAt),
      s.idle ? 'idle' : '-',
      count(s.batches),
      count(s.processed),
    ]),
  );
  return [
    `Eddy at ${url}, ${time(new Date(nowMs).toISOString())} UTC`,
    '',
    ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
    '',
    status.shards.length === 0 ? 'no shard has processed a batch yet' : shards,
  ].join('\n');
}
