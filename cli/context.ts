/** What a command reads and writes: the process's streams, passed in so that output goes to one place. */
import { buffer } from 'node:stream/consumers';

export interface Cli {
  /** A line (or lines) of the command's result, on standard output. */
  readonly out: (text: string) => void;
  /** Progress and diagnostics, on standard error, so that `--json` output stays clean. */
  readonly err: (text: string) => void;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readStdin(): Promise<Buffer>;
  /** Set by a command whose result is a failure it has already reported (exit code 1). */
  exitCode: number;
}

export const PROCESS_CLI: Cli = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => buffer(process.stdin),
  exitCode: 0,
};

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The API refused a request, could not be reached, or a check failed (rejected events, a probe never seen). */
  failed: 1,
  /** A bad command line: unknown command or option, bad value, unreadable input file. Nothing was sent. */
  usage: 2,
} as const;
