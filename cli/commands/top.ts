/**
 * `eddy top VIEW`: the groups of the view's latest window, highest first by a measure
 * (GET /views/{view}/groups?window=latest&orderBy=MEASURE&order=desc&limit=N).
 */
import { Command } from 'commander';
import { Api, type ApiOptions, addApiOptions, viewPath } from '../connection.ts';
import type { Cli } from '../context.ts';
import { measure, table, window } from '../format.ts';
import { integerArg } from '../options.ts';

interface TopOptions extends ApiOptions {
  readonly by?: string;
  readonly limit: number;
  readonly json?: boolean;
}

export interface GroupsReply {
  readonly view: string;
  /** The measure the groups are ranked by: the one asked for, or the API's default for the view. */
  readonly orderBy?: string;
  readonly windowStart: string | null;
  readonly windowEnd: string | null;
  readonly final: boolean;
  readonly groups: ReadonlyArray<{
    readonly group: Readonly<Record<string, unknown>>;
    readonly measures: Readonly<Record<string, unknown>>;
  }>;
  readonly nextCursor: string | null;
}

export const DEFAULT_TOP = 10;

export function topCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('top')
      .summary("the top groups of a view's latest window")
      .description(
        "the top groups of VIEW's latest window (the one the watermark is in), by a numeric result " +
          '(GET /views/{view}/groups?window=latest)',
      )
      .argument('<view>', 'view name')
      .option(
        '--by <measure>',
        "numeric result to order by: count, sum_price, ... (default: the API's, count if the view has it)",
      )
      .option('--limit <n>', 'groups to show (1–1000)', integerArg(1, 1000), DEFAULT_TOP)
      .option('--json', 'print the API answer as it is'),
  ).action(async (view: string, options: TopOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const reply = await readTop(api, view, options.by, options.limit);
    cli.out(options.json ? JSON.stringify(reply, null, 2) : formatTop(reply));
  });
}

export function readTop(api: Api, view: string, by: string | undefined, limit: number): Promise<GroupsReply> {
  return api.get<GroupsReply>(viewPath(view, 'groups'), { window: 'latest', orderBy: by, order: 'desc', limit });
}

export function formatTop(reply: GroupsReply): string {
  const when =
    reply.windowStart === null || reply.windowEnd === null
      ? 'no window yet'
      : `window ${window(reply.windowStart, reply.windowEnd)} UTC, ${reply.final ? 'final' : 'provisional'}`;
  const header = `${reply.view} · ${when} · top ${reply.groups.length}${reply.orderBy ? ` by ${reply.orderBy}` : ''}`;
  if (reply.groups.length === 0) return `${header}\n\nno groups`;
  const fields = [...new Set(reply.groups.flatMap((g) => Object.keys(g.group)))];
  const names = [...new Set(reply.groups.flatMap((g) => Object.keys(g.measures)))];
  const rows = reply.groups.map((g) => [
    ...fields.map((f) => (g.group[f] === null || g.group[f] === undefined ? '(none)' : measure(g.group[f]))),
    ...names.map((n) => measure(g.measures[n])),
  ]);
  return [header, '', table([...fields, ...names], rows)].join('\n');
}
