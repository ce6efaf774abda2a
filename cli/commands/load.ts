/**
 * `eddy load`: a Nexmark-style auction stream at a target rate, with a live progress bar, and at the end the
 * achieved rate, POST latency and freshness (POST answered → visible in results). The load test of Eddy.
 */
import { randomInt } from 'node:crypto';
import { Command, Option } from 'commander';
import { Api, type ApiOptions, addApiOptions } from '../connection.ts';
import { type Cli, EXIT } from '../context.ts';
import { formatLoadReport } from '../load/report.ts';
import { LoadRun } from '../load/run.ts';
import { durationArg, fractionArg, integerArg } from '../options.ts';
import { readViews } from '../views.ts';

interface LoadCommandOptions extends ApiOptions {
  readonly rate: number;
  readonly duration?: number;
  readonly events?: number;
  readonly seed?: number;
  readonly outOfOrder: number;
  readonly lateFraction: number;
  readonly keys: number;
  readonly senders: number;
  readonly batch: number;
  readonly probeView?: string;
  readonly probeInterval: number;
  readonly drainTimeout: number;
  readonly progress: boolean;
  readonly json?: boolean;
}

export function loadCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('load')
      .summary('post an auction stream at a target rate; report events/s and freshness')
      .description(
        'post a Nexmark-style auction stream (2% persons, 6% auctions, 92% bids; hot auctions and bidders) at a ' +
          'target rate, then report achieved events/s, POST latency and freshness',
      )
      .requiredOption('--rate <n>', 'target events per second, over all senders (1–1000000)', integerArg(1, 1_000_000))
      .option(
        '--duration <duration>',
        "send rate × duration events: '30s', '5m', or seconds (default 10s without --events)",
        durationArg,
      )
      .option('--events <n>', 'events to send (with --duration: whichever comes first)', integerArg(1, 1_000_000_000))
      .option(
        '--seed <n>',
        'seed of the event values (default: random, printed in the report)',
        integerArg(0, 2 ** 31 - 1),
      )
      .option('--out-of-order <ms>', 'event times trail the clock by up to this many ms', integerArg(0, 3_600_000), 0)
      .option(
        '--late-fraction <f>',
        'share of events (0–1) with a time whose windows are already final',
        fractionArg,
        0,
      )
      .option('--keys <n>', 'distinct auctions and distinct persons (bidders)', integerArg(1, 10_000_000), 10_000)
      .option('--senders <n>', 'concurrent senders (1–64)', integerArg(1, 64), 4)
      .option('--batch <n>', 'most events in one request (1–500)', integerArg(1, 500), 500)
      .option('--probe-view <view>', 'view to measure freshness on (default: the first grouped view)')
      .addOption(
        new Option('--probe-interval <duration>', 'time between probe events')
          .argParser(durationArg)
          .default(500, '500ms'),
      )
      .addOption(
        new Option(
          '--drain-timeout <duration>',
          'after the last POST, wait this long for the backlog to drain and the probes to show; 0: do not wait',
        )
          .argParser((value: string) => (value === '0' ? 0 : durationArg(value)))
          .default(60_000, '60s'),
      )
      .option('--no-progress', 'no progress bar')
      .option('--json', 'print the report as JSON'),
  ).action(async (options: LoadCommandOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    const config = await readViews(api);
    const run = new LoadRun(api, cli, config, {
      rate: options.rate,
      durationMs: options.duration ?? (options.events === undefined ? 10_000 : undefined),
      events: options.events,
      seed: options.seed ?? randomInt(2 ** 31 - 1),
      outOfOrderMs: options.outOfOrder,
      lateFraction: options.lateFraction,
      keys: options.keys,
      senders: options.senders,
      batch: options.batch,
      probeView: options.probeView,
      probeIntervalMs: options.probeInterval,
      drainTimeoutMs: options.drainTimeout,
      progress: options.progress,
    });
    const report = await run.run();
    cli.out(options.json ? JSON.stringify(report, null, 2) : formatLoadReport(report));
    if (!report.ok) cli.exitCode = EXIT.failed;
  });
}
