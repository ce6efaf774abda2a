/**
 * HTTP calls to a deployed Eddy API, authenticated the way the deployment expects: nothing (local), an
 * `x-api-key` header (API keys with a usage plan), or a SigV4 signature for `execute-api` (IAM auth).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export type Auth =
  | { readonly kind: 'none' }
  | { readonly kind: 'api-key'; readonly key: string }
  /** Credentials from the default chain: environment, profile, SSO, container or instance role. */
  | { readonly kind: 'iam'; readonly region: string };

export interface Reply {
  readonly status: number;
  /** Parsed JSON, or the text when the body is not JSON (API Gateway's own errors are JSON, proxies' may not be). */
  readonly body: unknown;
  /** Wall time of the request, for the report's timings. */
  readonly ms: number;
}

export type Query = Readonly<Record<string, string | number | undefined>>;

/** Time allowed for one request: API Gateway gives up after 29 s, so anything longer is a hung connection. */
const REQUEST_TIMEOUT_MS = 35_000;

/** The region of an API Gateway URL (`https://{id}.execute-api.{region}.amazonaws.com/{stage}`), if it is one. */
export function regionFromUrl(url: string): string | undefined {
  const host = new URL(url).hostname;
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

export class ApiClient {
  private readonly base: string;
  private readonly signer: SignatureV4 | undefined;

  constructor(
    baseUrl: string,
    private readonly auth: Auth = { kind: 'none' },
  ) {
    // The stage is part of the base path (`/v1`): keep it, drop a trailing slash so paths join cleanly.
    this.base = baseUrl.replace(/\/+$/, '');
    this.signer =
      auth.kind === 'iam'
        ? new SignatureV4({
            service: 'execute-api',
            region: auth.region,
            credentials: defaultProvider(),
            sha256: Hash.bind(null, 'sha256'),
          })
        : undefined;
  }

  get(path: string, query: Query = {}): Promise<Reply> {
    return this.request('GET', path, query);
  }

  post(path: string, body: unknown): Promise<Reply> {
    return this.request('POST', path, {}, JSON.stringify(body));
  }

  private async request(method: 'GET' | 'POST', path: string, query: Query, body?: string): Promise<Reply> {
    const url = new URL(this.base + path);
    // %20, not URLSearchParams' '+', for a space: SigV4 canonicalizes the query that way, and a group value
    // (from a view's filter) may contain one.
    url.search = Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
      .join('&');
    let headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.auth.kind === 'api-key') headers['x-api-key'] = this.auth.key;
    if (this.signer) headers = await this.sign(method, url, headers, body);
    const started = performance.now();
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    const ms = Math.round(performance.now() - started);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text, so the report can show what came back.
    }
    return { status: res.status, body: parsed, ms };
  }

  /**
   * Signs with the host header the request will carry (host[:port]) and the query as separate parameters, as
   * API Gateway canonicalizes them; fetch sets Host itself, so the signed copy is dropped before sending.
   */
  private async sign(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const signed = await this.signer!.sign({
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
