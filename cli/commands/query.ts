/** `eddy query VIEW`: the windows of one group of a view (GET /views/{view}/results). */
import { Command } from 'commander';
import { Api, type ApiOptions, addApiOptions, viewPath } from '../connection.ts';
import type { Cli } from '../context.ts';
import { group, measure, table, time, window } from '../format.ts';
import { groupArg, integerArg } from '../options.ts';

interface QueryOptions extends ApiOptions {
  readonly group?: Record<string, string>;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly json?: boolean;
}

export interface ResultWindow {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly final: boolean;
  readonly measures: Readonly<Record<string, unknown>>;
}

export interface ResultsReply {
  readonly view: string;
  readonly group: Readonly<Record<string, unknown>>;
  readonly watermark: string | null;
  readonly results: readonly ResultWindow[];
  readonly nextCursor: string | null;
}

export function queryCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('query')
      .summary('windows of one group of a view')
      .description('windows of one group of VIEW, oldest first, each final or provisional (GET /views/{view}/results)')
      .argument('<view>', 'view name (eddy query --help; GET /views lists them)')
      .option('--group <field=value>', 'a groupBy field of the view and its value; repeat for each field', groupArg)
      .option('--from <time>', 'windows starting at or after this time: epoch ms or ISO-8601 with a zone')
      .option('--to <time>', 'windows starting before this time')
      .option('--limit <n>', 'windows to read (1–1000; the API default is 100)', integerArg(1, 1000))
      .option('--cursor <cursor>', 'continue after the previous page (its nextCursor)')
      .option('--json', 'print the API answer as it is'),
  ).action(async (view: string, options: QueryOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const reply = await api.get<ResultsReply>(viewPath(view, 'results'), {
      ...options.group,
      from: options.from,
      to: options.to,
      limit: options.limit,
      cursor: options.cursor,
    });
    cli.out(options.json ? JSON.stringify(reply, null, 2) : formatResults(reply));
  });
}

export function formatResults(reply: ResultsReply): string {
  const header = `${reply.view} · ${group(reply.group)} · watermark ${time(reply.watermark)} (times UTC)`;
  if (reply.results.length === 0) return `${header}\n\nno windows with events for this group`;
  return [
    header,
    '',
    windowsTable(reply.results),
    ...(reply.nextCursor === null ? [] : ['', `more windows: add --cursor ${reply.nextCursor}`]),
  ].join('\n');
}

export function windowsTable(windows: readonly ResultWindow[]): string {
  const names = [...new Set(windows.flatMap((w) => Object.keys(w.measures)))];
  return table(
    ['window', 'state', ...names],
    windows.map((w) => [
      window(w.windowStart, w.windowEnd),
      w.final ? 'final' : 'provisional',
      ...names.map((n) => measure(w.measures[n])),
    ]),
  );
}
