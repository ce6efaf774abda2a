/** `eddy anomalies --view VIEW`: the windows a view's anomaly detector reported (GET /anomalies). */
import { Command } from 'commander';
import type { AnomalyReport } from '../../lambdas/core/anomaly/report.ts';
import { Api, type ApiOptions, addApiOptions } from '../connection.ts';
import type { Cli } from '../context.ts';
import { group, number } from '../format.ts';
import { groupArg, integerArg } from '../options.ts';

interface AnomaliesOptions extends ApiOptions {
  readonly view: string;
  readonly group?: Record<string, string>;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly json?: boolean;
}

export interface AnomaliesReply {
  readonly anomalies: readonly AnomalyReport[];
  readonly nextCursor: string | null;
}

export function anomaliesCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('anomalies')
      .summary("windows a view's anomaly detector reported")
      .description(
        "windows VIEW's anomaly detector reported, oldest first, one line each: window start (UTC), group, the " +
          "measure's value and the range the detector expected, score (GET /anomalies)",
      )
      .requiredOption('--view <view>', 'a view with anomaly: {...} in the config')
      .option('--group <field=value>', "one group's only: a groupBy field and its value; repeat for each", groupArg)
      .option('--from <time>', 'windows starting at or after this time: epoch ms or ISO-8601 with a zone')
      .option('--to <time>', 'windows starting before this time')
      .option('--limit <n>', 'anomalies to read (1–1000; the API default is 100)', integerArg(1, 1000))
      .option('--cursor <cursor>', 'continue after the previous page (its nextCursor)')
      .option('--json', 'print the API answer as it is'),
  ).action(async (options: AnomaliesOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const reply = await api.get<AnomaliesReply>('/anomalies', {
      ...options.group,
      view: options.view,
      from: options.from,
      to: options.to,
      limit: options.limit,
      cursor: options.cursor,
    });
    cli.out(options.json ? JSON.stringify(reply, null, 2) : formatAnomalies(reply));
  });
}

/**
 * `2026-11-24T10:00:00Z  shop=s3  count 250 above expected 80..120  score 9.1`, the groups padded to one
 * width so that the values line up.
 */
export function formatAnomalies(reply: AnomaliesReply): string {
  // A group's listing reads a bounded stretch per request: an empty page can still have more after it.
  if (reply.anomalies.length === 0) {
    return reply.nextCursor === null ? 'no anomalies' : `none in this stretch; more: add --cursor ${reply.nextCursor}`;
  }
  const groups = reply.anomalies.map((a) => group(a.group));
  const width = Math.max(...groups.map((g) => g.length));
  const lines = reply.anomalies.map((a, i) => {
    const direction = a.value > a.expected.high ? 'above' : 'below';
    return [
      a.windowStart.replace(/\.000Z$/, 'Z'),
      groups[i]!.padEnd(width),
      `${a.measure} ${number(a.value)} ${direction} expected ${number(a.expected.low)}..${number(a.expected.high)}`,
      `score ${a.score.toFixed(1)}`,
    ].join('  ');
  });
  return [
    ...lines,
    ...(reply.nextCursor === null ? [] : ['', `more anomalies: add --cursor ${reply.nextCursor}`]),
  ].join('\n');
}
