/**
 * Where the API is and how to call it, for every `eddy` command: `--url`/`EDDY_URL` (default: the local
 * runtime), `--api-key`/`EDDY_API_KEY`, or `--iam` for SigV4. Calls that do not get a 2xx become an ApiError
 * that carries the API's answer as it was written.
 */
import { type Command, Option } from 'commander';
import { ApiClient, describeError, type Query, type Reply, type RequestOptions } from './api-client.ts';
import { checkBaseUrl, resolveAuth } from './options.ts';

/** `npm start`'s address. */
export const LOCAL_URL = 'http://127.0.0.1:3000';

export interface ApiOptions {
  readonly url: string;
  readonly apiKey?: string;
  readonly iam?: boolean;
  readonly region?: string;
}

export function addApiOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'API base URL; on AWS the ApiUrl output, with the stage')
        .env('EDDY_URL')
        .default(LOCAL_URL),
    )
    .addOption(
      new Option('--api-key <key>', 'send x-api-key: KEY (stacks deployed with -c auth=apiKey)').env('EDDY_API_KEY'),
    )
    .option('--iam', 'sign requests with SigV4 (stacks deployed with -c auth=iam, the default); AWS credentials')
    .option('--region <region>', 'region for --iam (default: from the URL, else AWS_REGION)');
}

/** The API answered something other than 2xx: shown with its status and its body, as written. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly reply: Reply,
  ) {
    super(`${method} ${path} answered ${reply.status}: ${reply.text}`);
  }
}

/** The API could not be reached at all (refused, DNS, timeout). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** The API answered 2xx with something this CLI cannot read (another version of Eddy). */
export class UnreadableAnswerError extends Error {
  override readonly name = 'UnreadableAnswerError';
}

export class Api {
  readonly client: ApiClient;

  constructor(
    readonly url: string,
    client: ApiClient,
  ) {
    this.client = client;
  }

  /** `EDDY_API_KEY` from the environment yields to `--iam` given on the command line. */
  static fromOptions(options: ApiOptions, command: Command, env: NodeJS.ProcessEnv = process.env): Api {
    const url = checkBaseUrl(options.url);
    const keyFromEnv = command.getOptionValueSource('apiKey') === 'env';
    const apiKey = options.iam && keyFromEnv ? undefined : options.apiKey;
    const auth = resolveAuth({ apiKey, iam: options.iam, region: options.region }, url, env);
    return new Api(url, new ApiClient(url, auth));
  }

  /** Any answer, 2xx or not; only a network failure throws. */
  async call(method: 'GET' | 'POST', path: string, options: RequestOptions = {}): Promise<Reply> {
    try {
      return await this.client.request(method, path, options);
    } catch (err) {
      throw new UnreachableError(`cannot reach ${this.url}: ${describeError(err)}`);
    }
  }

  /** The JSON body of a 2xx answer; anything else is an ApiError. */
  async get<T>(path: string, query: Query = {}): Promise<T> {
    const reply = await this.call('GET', path, { query });
    if (reply.status < 200 || reply.status > 299) throw new ApiError('GET', pathWithQuery(path, query), reply);
    return reply.body as T;
  }
}

function pathWithQuery(path: string, query: Query): string {
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return params.length === 0 ? path : `${path}?${params.join('&')}`;
}

/** A view name as a path segment. */
export function viewPath(view: string, rest: string): string {
  return `/views/${encodeURIComponent(view)}/${rest}`;
}
