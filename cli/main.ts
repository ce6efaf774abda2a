/**
 * `eddy`: the command line of an Eddy API, local or deployed. One command a file in cli/commands; this file
 * builds the program and turns what happened into an exit code (see EXIT).
 */
import { Command, CommanderError } from 'commander';
import { anomaliesCommand } from './commands/anomalies.ts';
import { loadCommand } from './commands/load.ts';
import { queryCommand } from './commands/query.ts';
import { sendCommand } from './commands/send.ts';
import { statusCommand } from './commands/status.ts';
import { tailCommand } from './commands/tail.ts';
import { topCommand } from './commands/top.ts';
import { ApiError, UnreachableError, UnreadableAnswerError } from './connection.ts';
import { type Cli, EXIT, PROCESS_CLI } from './context.ts';
import { UsageError } from './options.ts';

const EXIT_CODES_HELP = `
Endpoint: --url, else EDDY_URL, else http://127.0.0.1:3000 (npm start). Credentials: --api-key or
EDDY_API_KEY (x-api-key), or --iam (SigV4 with the default AWS credential chain).

Exit codes:
  0  done; every event accepted, every check passed
  1  the API answered an error (shown as the API wrote it) or could not be reached, events were rejected,
     or a check of the command failed
  2  usage error: unknown command or option, bad value, unreadable input; nothing was sent`;

export function program(cli: Cli): Command {
  const program = new Command('eddy')
    .description('Send events to an Eddy API and read its results, from a shell or a script.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => cli.stdout.write(text), writeErr: (text) => cli.stderr.write(text) })
    .showHelpAfterError('(eddy --help, or eddy COMMAND --help, for usage)')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const command of [
    sendCommand(cli),
    loadCommand(cli),
    queryCommand(cli),
    topCommand(cli),
    tailCommand(cli),
    statusCommand(cli),
    anomaliesCommand(cli),
  ]) {
    // addCommand, unlike .command(), does not pass on exitOverride and the output streams.
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/** Runs the command line and returns its exit code. */
export async function main(argv: readonly string[], cli: Cli = PROCESS_CLI): Promise<number> {
  try {
    await program(cli).parseAsync([...argv], { from: 'user' });
    return cli.exitCode;
  } catch (err) {
    // Commander has already printed its message (and help when it was asked for).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof UsageError) {
      cli.err(`error: ${err.message}\n(eddy --help, or eddy COMMAND --help, for usage)`);
      return EXIT.usage;
    }
    if (err instanceof ApiError || err instanceof UnreachableError || err instanceof UnreadableAnswerError) {
      cli.err(`error: ${err.message}`);
      return EXIT.failed;
    }
    throw err;
  }
}
