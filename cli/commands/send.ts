/**
 * `eddy send [FILE|-]`: posts the events of a file (or standard input) in requests of up to 500, and reports
 * how many were accepted and, by their index in the file, which were rejected and why.
 *
 * The input is a JSON array of events, one JSON object, or NDJSON (one event per line). NDJSON lines are sent
 * as they are written, so the API judges each line, a line that is not JSON included.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST } from '../../lambdas/ingest/event-batch.ts';
import { Api, type ApiOptions, addApiOptions } from '../connection.ts';
import { type Cli, EXIT } from '../context.ts';
import { count } from '../format.ts';
import { integerArg, UsageError } from '../options.ts';
import { type PostOutcome, type PostRequest, postEvents } from '../post-events.ts';

interface SendOptions extends ApiOptions {
  readonly batch: number;
  readonly concurrency: number;
  readonly json?: boolean;
}

/** One event of the input: where it is, and its JSON text as it will be sent. */
interface InputEvent {
  /** Position among the input's events (0-based; NDJSON blank lines are not events, as the API counts). */
  readonly index: number;
  /** NDJSON: the 1-based line of the file. */
  readonly line?: number;
  readonly json: string;
}

interface Input {
  readonly format: 'json' | 'ndjson';
  readonly events: readonly InputEvent[];
}

export interface SendReport {
  readonly source: string;
  readonly format: 'json' | 'ndjson';
  readonly events: number;
  readonly requests: number;
  readonly accepted: number;
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly line?: number; readonly error: string }>;
}

/** Room left under the API's body limit for the array brackets and separators. */
const BODY_MARGIN_BYTES = 1_024;

export function sendCommand(cli: Cli): Command {
  return addApiOptions(
    new Command('send')
      .summary('post events from a file or standard input (JSON or NDJSON)')
      .description(
        'post events from FILE (or - for standard input): a JSON array, one JSON object, or NDJSON; ' +
          'reports accepted and rejected events, by their index in the file',
      )
      .argument('[file]', 'file of events, or - for standard input', '-')
      .option(
        '--batch <n>',
        `events per request (1–${MAX_EVENTS_PER_REQUEST})`,
        integerArg(1, MAX_EVENTS_PER_REQUEST),
        MAX_EVENTS_PER_REQUEST,
      )
      .option('--concurrency <n>', 'requests in flight at once (1–32)', integerArg(1, 32), 4)
      .option('--json', 'print the report as JSON'),
  ).action(async (file: string, options: SendOptions, command: Command) => {
    const api = Api.fromOptions(options, command);
    if (file === '-' && cli.stdin.isTTY) {
      throw new UsageError('no input: give a FILE, or pipe events into standard input (eddy send - < events.ndjson)');
    }
    const input = parseInput(await readInput(cli, file), file);
    const report = await send(api, input, file === '-' ? 'stdin' : file, options);
    cli.out(options.json ? JSON.stringify(report, null, 2) : formatSendReport(report));
    if (report.rejected.length > 0) cli.exitCode = EXIT.failed;
  });
}

async function readInput(cli: Cli, file: string): Promise<string> {
  try {
    const buffer = file === '-' ? await cli.readStdin() : await readFile(file);
    return buffer.toString('utf8').replace(/^\ufeff/, '');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A JSON array or object when the whole input is one JSON value; otherwise NDJSON, line by line. */
export function parseInput(text: string, source: string): Input {
  const trimmed = text.trimStart();
  if (trimmed === '') throw new UsageError(`${source} holds no events`);
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      // An object per line is NDJSON; an array that does not parse is a broken file.
      if (trimmed.startsWith('[')) throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw new UsageError(`${source} is an empty array: no events to send`);
      return { format: 'json', events: value.map((v, index) => ({ index, json: JSON.stringify(v) })) };
    }
    if (value !== undefined) return { format: 'json', events: [{ index: 0, json: JSON.stringify(value) }] };
  }
  const events: InputEvent[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() !== '') events.push({ index: events.length, line: i + 1, json: line });
  });
  return { format: 'ndjson', events };
}

/** Consecutive events, at most `batch` to a request and within the API's body size. */
function chunks(events: readonly InputEvent[], batch: number): InputEvent[][] {
  const out: InputEvent[][] = [];
  let current: InputEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(event.json) + 1;
    if (current.length > 0 && (current.length >= batch || bytes + size > MAX_BODY_BYTES - BODY_MARGIN_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function send(api: Api, input: Input, source: string, options: SendOptions): Promise<SendReport> {
  const runId = randomBytes(4).toString('hex');
  const requests: PostRequest[] = chunks(input.events, options.batch).map((chunk, i) => ({
    body: input.format === 'json' ? `[${chunk.map((e) => e.json).join(',')}]` : chunk.map((e) => e.json).join('\n'),
    contentType: input.format === 'json' ? 'application/json' : 'application/x-ndjson',
    events: chunk.length,
    idempotencyKey: `eddy-send-${runId}-${i}`,
  }));
  const starts: number[] = [];
  requests.reduce((offset, r) => {
    starts.push(offset);
    return offset + r.events;
  }, 0);
  const outcomes: PostOutcome[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      outcomes[i] = await postEvents(api, requests[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, requests.length) }, worker));
  const rejected = outcomes.flatMap((o, i) =>
    o.rejected.map((r) => {
      const event = input.events[starts[i]! + r.index]!;
      return event.line === undefined
        ? { index: event.index, error: r.error }
        : { index: event.index, line: event.line, error: r.error };
    }),
  );
  return {
    source,
    format: input.format,
    events: input.events.length,
    requests: requests.length,
    accepted: outcomes.reduce((sum, o) => sum + o.accepted, 0),
    rejected,
  };
}

export function formatSendReport(report: SendReport): string {
  const lines = [
    `${report.source}: ${count(report.events)} ${report.events === 1 ? 'event' : 'events'} (${report.format}) in ` +
      `${report.requests} ${report.requests === 1 ? 'request' : 'requests'}: ` +
      `${count(report.accepted)} accepted, ${count(report.rejected.length)} rejected`,
  ];
  // Runs of events rejected for the same reason (a request refused as a whole) are shown as one range.
  let i = 0;
  while (i < report.rejected.length) {
    const first = report.rejected[i]!;
    let j = i;
    while (
      j + 1 < report.rejected.length &&
      report.rejected[j + 1]!.error === first.error &&
      report.rejected[j + 1]!.index === report.rejected[j]!.index + 1
    )
      j++;
    const last = report.rejected[j]!;
    const where =
      i === j
        ? `#${first.index}${first.line === undefined ? '' : ` (file line ${first.line})`}`
        : `#${first.index}–#${last.index}${first.line === undefined ? '' : ` (file lines ${first.line}–${last.line})`}`;
    lines.push(`  ${where}: ${first.error}`);
    i = j + 1;
  }
  return lines.join('\n');
}
