/**
 * Command-line checks shared by the `eddy` CLI and `npm run smoke`: where the API is and how to authenticate.
 * A bad value is a UsageError naming the option, the value and what would be accepted (exit code 2).
 */
import { InvalidArgumentError } from 'commander';
import { type Auth, regionFromUrl } from './api-client.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface AuthOptions {
  readonly apiKey?: string;
  readonly iam?: boolean;
  readonly region?: string;
}

/** An API base URL: http(s), with the stage path if it has one. */
export function checkBaseUrl(value: string, option = '--url'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option} must be http:// or https:// (given ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * No auth, an API key, or SigV4 with the region of the URL (an API Gateway URL names it), `--region`, or the
 * environment's AWS_REGION.
 */
export function resolveAuth(options: AuthOptions, url: string, env: NodeJS.ProcessEnv): Auth {
  if (options.apiKey !== undefined && options.iam) throw new UsageError('use --api-key or --iam, not both');
  if (options.apiKey === '') throw new UsageError('--api-key must not be empty');
  if (options.region !== undefined && !options.iam) throw new UsageError('--region only applies with --iam');
  if (options.iam) {
    const region = options.region ?? regionFromUrl(url) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--iam needs a region: the URL names none; pass --region REGION');
    return { kind: 'iam', region };
  }
  if (options.apiKey !== undefined) return { kind: 'api-key', key: options.apiKey };
  return { kind: 'none' };
}

export function integerOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (given ${JSON.stringify(value)})`);
  }
  return n;
}

/** Commander argument parsers: a bad value is reported with the option's name (exit code 2). */
export function integerArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`use an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

export function fractionArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('use a number from 0 to 1, e.g. 0.01.');
  }
  return n;
}

/** `500ms`, `30s`, `5m`, `1h`, or a number of seconds. */
export function durationArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']! : Number.NaN;
  if (!(ms >= 1)) throw new InvalidArgumentError("use a duration like '30s', '5m', '500ms', or seconds.");
  return Math.round(ms);
}

/** `field=value`, repeatable: the group of a view. */
export function groupArg(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`use field=value, e.g. auction=a1 (given '${value}').`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
