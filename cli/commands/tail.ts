/**
 * `eddy tail VIEW`: the view, live. Every interval it reads the top groups of the latest window (or, with
 * --group, that group's latest windows) and the pipeline's counters, and redraws them in place on a terminal.
 * Piped, it prints one frame after another (`--json`: one JSON line a frame). Ctrl-C stops it (exit code 0).
 */
import { clearScreenDown, moveCursor } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { PipelineConfig } from '../../lambdas/core/config.ts';
import { Api, type ApiOptions, addApiOptions, viewPath } from '../connection.ts';
import type { Cli } from '../context.ts';
import { count, duration, time } from '../format.ts';
import { durationArg, groupArg, integerArg } from '../options.ts';
import { findView, readViews } from '../views.ts';
import type { ResultsReply } from './query.ts';
import { formatResults } from './query.ts';
import type { StatusReply } from './status.ts';
import { DEFAULT_TOP, formatTop, readTop } from './top.ts';

interface TailOptions extends ApiOptions {
  readonly group?: Record<string, string>;
  readonly by?: string;
  readonly limit: number;
  readonly interval: number;
  readonly json?: boolean;
}

/** How far back --group reads a session view's windows: sessions have no fixed length. */
const SESSION_LOOKBACK_MS = 3_600_000;

export function tailCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('tail')
      .summary('a view, live, redrawn in place')
      .description(
        "VIEW live: the latest window's top groups (or one group's latest windows), redrawn in place; Ctrl-C stops",
      )
      .argument('<view>', 'view name')
      .option('--group <field=value>', "show this group's latest windows instead; repeat for each field", groupArg)
      .option('--by <measure>', "numeric result to order groups by (default: the API's, count if the view has it)")
      .option('--limit <n>', 'groups (or windows) to show (1–1000)', integerArg(1, 1000), DEFAULT_TOP)
      .addOption(
        new Option('--interval <duration>', 'time between refreshes').argParser(durationArg).default(1_000, '1s'),
      )
      .option('--json', 'print one JSON line per refresh instead of redrawing'),
  ).action(async (view: string, options: TailOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const config = await readViews(api);
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.on('SIGINT', onSigint);
    const screen = new Screen(cli);
    let previous: { at: number; accepted: number } | undefined;
    try {
      for (let frame = 0; !stop.signal.aborted; frame++) {
        const at = Date.now();
        let status: StatusReply;
        let body: Record<string, unknown>;
        let text: string;
        try {
          status = await api.get<StatusReply>('/status');
          if (options.group === undefined) {
            const top = await readTop(api, view, options.by, options.limit);
            body = { top };
            text = formatTop(top);
          } else {
            const results = await readLatestWindows(api, config, view, options.group, options.limit, at);
            body = { results };
            text = formatResults(results);
          }
        } catch (err) {
          // The first read decides whether the command can work at all; later failures are shown and retried.
          if (frame === 0) throw err;
          screen.draw(`${header(view, api.url, at, options.interval)}\n\nerror: ${(err as Error).message}`);
          await sleep(options.interval, undefined, { signal: stop.signal }).catch(() => undefined);
          continue;
        }
        const accepted = status.events.accepted ?? 0;
        const rate =
          previous && at > previous.at ? ((accepted - previous.accepted) * 1_000) / (at - previous.at) : null;
        previous = { at, accepted };
        if (options.json) {
          cli.out(JSON.stringify({ at: new Date(at).toISOString(), status, ...body }));
        } else {
          screen.draw(
            [header(view, api.url, at, options.interval), pipelineLine(status, rate, at), '', text].join('\n'),
          );
        }
        await sleep(options.interval, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

async function readLatestWindows(
  api: Api,
  config: PipelineConfig,
  view: string,
  group: Record<string, string>,
  limit: number,
  nowMs: number,
): Promise<ResultsReply> {
  const spec = findView(config, view);
  const lookback =
    spec === undefined || spec.window.type === 'session'
      ? SESSION_LOOKBACK_MS
      : (limit + 1) * spec.window.slideMs + spec.window.sizeMs;
  const reply = await api.get<ResultsReply>(viewPath(view, 'results'), {
    ...group,
    from: nowMs - lookback,
    limit: 1_000,
  });
  return { ...reply, results: reply.results.slice(-limit), nextCursor: null };
}

function header(view: string, url: string, at: number, intervalMs: number): string {
  return `eddy tail ${view} · ${url} · ${time(new Date(at).toISOString())} UTC · every ${duration(intervalMs)}, Ctrl-C to stop`;
}

function pipelineLine(status: StatusReply, rate: number | null, at: number): string {
  const e = status.events;
  const wm =
    status.watermark === null
      ? 'watermark -'
      : `watermark ${time(status.watermark)} (${duration(at - Date.parse(status.watermark))} behind)`;
  return [
    `accepted ${count(e.accepted ?? 0)}`,
    rate === null ? null : `${count(Math.round(rate))} events/s`,
    `processed ${count(e.processed ?? 0)}`,
    `in flight ${count(e.inFlight ?? 0)}`,
    `late ${count(e.late ?? 0)}`,
    wm,
  ]
    .filter((part) => part !== null)
    .join(' · ');
}

/** A terminal redraws the previous frame in place; anything else gets frames one after another. */
class Screen {
  private lines = 0;

  constructor(private readonly cli: Cli) {}

  draw(frame: string): void {
    const out = this.cli.stdout;
    if (!out.isTTY) {
      this.cli.out(`${frame}\n`);
      return;
    }
    // Lines cut to the terminal's width and height, so that the cursor goes back exactly over the last frame.
    // (A terminal that does not say its size, such as a pseudo-terminal without one, gets the frame whole.)
    const height = out.rows > 1 ? out.rows - 1 : Number.POSITIVE_INFINITY;
    const width = out.columns > 0 ? out.columns : Number.POSITIVE_INFINITY;
    const lines = frame
      .split('\n')
      .slice(0, height)
      .map((line) => line.slice(0, width));
    if (this.lines > 0) moveCursor(out, 0, -this.lines);
    clearScreenDown(out);
    out.write(`${lines.join('\n')}\n`);
    this.lines = lines.length;
  }
}
