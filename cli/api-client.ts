/**
 * HTTP calls to an Eddy API, authenticated the way the deployment expects: nothing (local), an `x-api-key`
 * header (API keys with a usage plan), or a SigV4 signature for `execute-api` (IAM auth). Used by the `eddy`
 * CLI and by `npm run smoke`.
 */
import type { SignatureV4 } from '@smithy/signature-v4';

export type Auth =
  | { readonly kind: 'none' }
  | { readonly kind: 'api-key'; readonly key: string }
  /** Credentials from the default chain: environment, profile, SSO, container or instance role. */
  | { readonly kind: 'iam'; readonly region: string };

export interface Reply {
  readonly status: number;
  /** Parsed JSON, or the text when the body is not JSON (API Gateway's own errors are JSON, proxies' may not be). */
  readonly body: unknown;
  /** The body exactly as the API wrote it, for showing errors unchanged. */
  readonly text: string;
  readonly headers: Headers;
  /** Wall time of the request, for reports' timings. */
  readonly ms: number;
}

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  /** Sent as is; `contentType` says what it is. */
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Time allowed for one request: API Gateway gives up after 29 s, so anything longer is a hung connection. */
const REQUEST_TIMEOUT_MS = 35_000;

/** The region of an API Gateway URL (`https://{id}.execute-api.{region}.amazonaws.com/{stage}`), if it is one. */
export function regionFromUrl(url: string): string | undefined {
  const host = new URL(url).hostname;
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

/** An error's message; fetch reports every network failure as 'fetch failed', and the cause says which (ECONNREFUSED...). */
export function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (!e?.cause) return String(e?.message ?? e);
  return `${e.message}: ${e.cause.message ?? e.cause.code}`;
}

export class ApiClient {
  /** The base URL as given, without a trailing slash. */
  readonly base: string;
  private signer: Promise<SignatureV4> | undefined;

  constructor(
    baseUrl: string,
    private readonly auth: Auth = { kind: 'none' },
  ) {
    // The stage is part of the base path (`/v1`): keep it, drop a trailing slash so paths join cleanly.
    this.base = baseUrl.replace(/\/+$/, '');
  }

  get(path: string, query: Query = {}): Promise<Reply> {
    return this.request('GET', path, { query });
  }

  /** POSTs `body` as JSON. */
  post(path: string, body: unknown, headers: Readonly<Record<string, string>> = {}): Promise<Reply> {
    return this.request('POST', path, { body: JSON.stringify(body), contentType: 'application/json', headers });
  }

  async request(method: 'GET' | 'POST', path: string, options: RequestOptions = {}): Promise<Reply> {
    const url = new URL(this.base + path);
    // %20, not URLSearchParams' '+', for a space: SigV4 canonicalizes the query that way, and a group value
    // (from a view's filter) may contain one.
    url.search = Object.entries(options.query ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
      .join('&');
    const { body } = options;
    let headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    if (this.auth.kind === 'api-key') headers['x-api-key'] = this.auth.key;
    if (this.auth.kind === 'iam') headers = await this.sign(this.auth.region, method, url, headers, body);
    const started = performance.now();
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    const ms = Math.round(performance.now() - started);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text, so the caller can show what came back.
    }
    return { status: res.status, body: parsed, text, headers: res.headers, ms };
  }

  /**
   * Signs with the host header the request will carry (host[:port]) and the query as separate parameters, as
   * API Gateway canonicalizes them; fetch sets Host itself, so the signed copy is dropped before sending.
   */
  private async sign(
    region: string,
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    this.signer ??= createSigner(region);
    const signed = await (await this.signer).sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      body,
    });
    const { host: _host, ...rest } = signed.headers;
    return rest;
  }
}

/** Loaded on first use: the credential chain is a large import that only --iam needs. */
async function createSigner(region: string): Promise<SignatureV4> {
  const [{ defaultProvider }, { Hash }, { SignatureV4 }] = await Promise.all([
    import('@aws-sdk/credential-provider-node'),
    import('@smithy/hash-node'),
    import('@smithy/signature-v4'),
  ]);
  return new SignatureV4({
    service: 'execute-api',
    region,
    credentials: defaultProvider(),
    sha256: Hash.bind(null, 'sha256'),
  });
}
