/**
 * `npm run smoke -- --url URL ...`: the post-deploy check. Parses the command line, runs scripts/smoke/run.ts,
 * prints the report. Exit code 0 when every check passed, 1 when one failed, 2 for a usage error.
 */
import { parseArgs } from 'node:util';
import { checkBaseUrl, integerOption as integer, resolveAuth, UsageError } from '../../cli/options.ts';
import { exitCode, formatReport } from './report.ts';
import { DEFAULT_EVENTS, DEFAULT_TIMEOUT_MS, runSmoke, type SmokeOptions } from './run.ts';

const USAGE = `Usage: npm run smoke -- --url URL [--api-key KEY | --iam [--region REGION]] [options]

Checks a running Eddy end to end: reads GET /health and GET /views, posts a few hundred events of its own
(group values smoke-<runid>-...) at the current time, keeps posting one small tick event a second so the
watermark advances until the run's windows are final, then compares the results with what it computed from
the events it sent, and checks the /status counters and the /late and /dead-letters side outputs.

Options:
  --url URL         API base URL with the stage, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/v1
                    or http://127.0.0.1:3000 for npm start
  --api-key KEY     send x-api-key: KEY
  --iam             sign each request with SigV4 (service execute-api), credentials from the default chain
  --region REGION   region for --iam          default: from the URL, else AWS_REGION
  --seed N          seed of the event values  default: random (printed in the report)
  --events N        data events to send       default: ${DEFAULT_EVENTS}
  --timeout SECONDS give up waiting for final windows after this long   default: ${DEFAULT_TIMEOUT_MS / 1_000}
                    (on AWS an idle shard holds the watermark back for its idle timeout plus the function
                    timeout, about 90 s with the defaults)
  --json            print the report as JSON
  -h, --help        show this help

Exit code: 0 all checks passed, 1 a check failed, 2 usage error.
`;

export { UsageError };

export interface CommandLine {
  readonly options: SmokeOptions;
  readonly json: boolean;
}

function readArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        iam: { type: 'boolean' },
        region: { type: 'string' },
        seed: { type: 'string' },
        events: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    // Unknown option, missing value: parseArgs names it.
    throw new UsageError((err as Error).message);
  }
}

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine | 'help' {
  const values = readArgs(argv);
  if (values.help) return 'help';
  if (values.url === undefined) throw new UsageError('--url is required');
  const url = checkBaseUrl(values.url);
  const auth = resolveAuth({ apiKey: values['api-key'], iam: values.iam, region: values.region }, url, env);
  return {
    options: {
      url,
      auth,
      seed: values.seed === undefined ? undefined : integer('--seed', values.seed, 0, 2 ** 31 - 1),
      events: values.events === undefined ? undefined : integer('--events', values.events, 1, 5_000),
      timeoutMs: values.timeout === undefined ? undefined : integer('--timeout', values.timeout, 1, 3_600) * 1_000,
    },
    json: values.json ?? false,
  };
}

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const CONSOLE: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

/** Runs the check as the command line asks and returns the exit code (tests call this in-process). */
export async function main(
  argv: readonly string[],
  io: Io = CONSOLE,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<SmokeOptions> = {},
): Promise<number> {
  let command: CommandLine | 'help';
  try {
    command = parseCommandLine(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'help') {
    io.out(USAGE);
    return 0;
  }
  // Progress goes to stderr, so that --json leaves stdout to the report alone.
  const report = await runSmoke({ ...command.options, log: io.err, ...overrides });
  io.out(command.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return exitCode(report);
}

if (process.argv[1]?.endsWith('scripts/smoke/cli.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
