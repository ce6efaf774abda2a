/**
 * The local HTTP API: routes requests with the same table the CDK stack builds API Gateway from
 * (config/api-routes.ts), turns each into the REST API (v1) Lambda proxy event, invokes the route's handler,
 * and writes its proxy result back. API Gateway's own answers (missing API key, body too large, handler error,
 * timeout) have its status codes and bodies. Beside the API it serves the dashboard (local/dashboard-files.ts).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Handler } from 'aws-lambda';
import { API_ROUTES, type ApiFunction, type ApiRoute } from '../config/api-routes.ts';
import { LOCAL_ACCOUNT_ID } from './aws-clients.ts';
import { serveDashboard } from './dashboard-files.ts';
import { invokeFunction, RequestTooLargeError } from './lambda-runtime.ts';

export type ProxyHandler = Handler<APIGatewayProxyEvent, APIGatewayProxyResult>;

export interface LocalApiOptions {
  readonly handlers: Readonly<Record<ApiFunction, ProxyHandler>>;
  /** @default API_ROUTES */
  readonly routes?: readonly ApiRoute[];
  /** Lambda function names, for the handlers' context. @default 'eddy-ingest', 'eddy-query' */
  readonly functionNames?: Readonly<Record<ApiFunction, string>>;
  /** When set, routes with `authenticated` need this value in `x-api-key`. @default - no key needed */
  readonly apiKey?: string;
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'local' */
  readonly stage?: string;
  /**
   * Content types API Gateway passes to the function base64-encoded (the REST API's `binaryMediaTypes`,
   * wildcards such as `application/*` allowed); every other body arrives as a UTF-8 string.
   * @default [] - as the deployed API (lib/eddy-api.ts) declares none
   */
  readonly binaryMediaTypes?: readonly string[];
  /** Lambda timeout of the API functions, for `getRemainingTimeInMillis()`. @default 10 (EddyFunction's default) */
  readonly functionTimeoutSeconds?: number;
  /** One line per request, and handler errors. @default console.log */
  readonly log?: (line: string) => void;
}

export interface LocalApi {
  /** Base URL, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's default integration timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;

interface CompiledRoute {
  readonly route: ApiRoute;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const routes = (options.routes ?? API_ROUTES).map(compileRoute);
  const log = options.log ?? ((line) => console.log(line));
  const server = http.createServer((req, res) => {
    handleRequest(req, res, routes, options, log).catch((err) => {
      log(`[api] ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
      if (!res.headersSent) reply(res, 502, randomUUID(), { message: 'Internal server error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handleRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  routes: readonly CompiledRoute[],
  options: LocalApiOptions,
  log: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const done = (status: number, extra = '') =>
    log(`[api] ${req.method} ${url.pathname}${url.search} ${status} ${Date.now() - started} ms${extra}`);

  // The dashboard's pages, beside the API as on AWS the hosted dashboard is beside it (no API key for files).
  if (await serveDashboard(req, res, url.pathname)) return done(res.statusCode);
  const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
  if (!match) {
    await discardBody(req);
    reply(res, 404, requestId, { message: 'Not Found' });
    return done(404);
  }
  const apiKey = header(req, 'x-api-key');
  if (options.apiKey !== undefined && match.route.authenticated && apiKey !== options.apiKey) {
    await discardBody(req);
    reply(res, 403, requestId, { message: 'Forbidden' }, { 'x-amzn-ErrorType': 'ForbiddenException' });
    return done(403);
  }
  const body = await readBody(req);
  if (body === 'too-large') {
    reply(res, 413, requestId, { message: 'Request Too Long' });
    return done(413);
  }

  const event = proxyEvent(req, url, match, body, requestId, started, options, apiKey);
  const functionName = (options.functionNames ?? DEFAULT_FUNCTION_NAMES)[match.route.function];
  const invocation = invokeFunction(
    {
      name: functionName,
      handler: options.handlers[match.route.function],
      timeoutSeconds: options.functionTimeoutSeconds ?? 10,
    },
    event,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
  });
  let outcome: Awaited<typeof invocation> | 'timeout';
  try {
    outcome = await Promise.race([invocation, timeout]);
  } catch (err) {
    if (err instanceof RequestTooLargeError) {
      // Lambda refused the event (over 6 MB with its envelope): API Gateway answers 413, not 502.
      reply(res, 413, requestId, { message: 'Request Too Long' }, { 'x-amzn-ErrorType': 'BadRequestException' });
      return done(413, `: ${err.message}`);
    }
    replyInternalError(res, requestId);
    return done(502, `: ${functionName} failed: ${(err as Error)?.stack ?? err}`);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'timeout') {
    invocation.catch(() => {});
    reply(res, 504, requestId, { message: 'Endpoint request timed out' });
    return done(504, `: ${functionName} did not answer within ${INTEGRATION_TIMEOUT_MS} ms`);
  }
  const result = outcome.result as unknown;
  if (!isProxyResult(result)) {
    replyInternalError(res, requestId);
    return done(502, `: malformed Lambda proxy response from ${functionName}: ${JSON.stringify(result)}`);
  }
  writeResult(res, requestId, result);
  done(result.statusCode);
}

const DEFAULT_FUNCTION_NAMES: Readonly<Record<ApiFunction, string>> = { ingest: 'eddy-ingest', query: 'eddy-query' };

function compileRoute(route: ApiRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.resource
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)(\+?)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[1]!);
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), params };
}

interface RouteMatch {
  readonly route: ApiRoute;
  readonly pathParameters: Record<string, string> | null;
}

function matchRoute(routes: readonly CompiledRoute[], method: string, pathname: string): RouteMatch | undefined {
  for (const { route, pattern, params } of routes) {
    if (route.method !== method) continue;
    const m = pattern.exec(pathname);
    if (!m) continue;
    if (params.length === 0) return { route, pathParameters: null };
    const values = params.map((name, i) => [name, safeDecode(m[i + 1]!)] as const);
    return { route, pathParameters: Object.fromEntries(values) };
  }
  return undefined;
}

function proxyEvent(
  req: http.IncomingMessage,
  url: URL,
  match: RouteMatch,
  body: Buffer,
  requestId: string,
  receivedAt: number,
  options: LocalApiOptions,
  apiKey: string | undefined,
): APIGatewayProxyEvent {
  const stage = options.stage ?? 'local';
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const { headers, multiValueHeaders } = proxyHeaders(req, sourceIp);
  const query = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) query.set(name, [...(query.get(name) ?? []), value]);
  const binary = body.length > 0 && isBinaryMediaType(header(req, 'content-type'), options.binaryMediaTypes ?? []);
  return {
    resource: match.route.resource,
    path: url.pathname,
    httpMethod: match.route.method,
    headers,
    multiValueHeaders,
    // API Gateway (REST, v1 payload) keeps the last of repeated query parameters in the single-value map.
    queryStringParameters: query.size > 0 ? Object.fromEntries([...query].map(([k, v]) => [k, v.at(-1)!])) : null,
    multiValueQueryStringParameters: query.size > 0 ? Object.fromEntries(query) : null,
    pathParameters: match.pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      authorizer: null,
      domainName: header(req, 'host') ?? 'localhost',
      extendedRequestId: requestId,
      httpMethod: match.route.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: match.route.authenticated && apiKey !== undefined ? apiKey : null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: header(req, 'user-agent') ?? null,
        userArn: null,
      },
      path: `/${stage}${url.pathname}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId,
      requestTime: apiGatewayTime(new Date(receivedAt)),
      requestTimeEpoch: receivedAt,
      resourceId: 'local',
      resourcePath: match.route.resource,
      stage,
    },
    body: body.length === 0 ? null : body.toString(binary ? 'base64' : 'utf8'),
    isBase64Encoded: binary,
  };
}

/** Headers as the client sent them (names keep their case), plus the X-Forwarded-* headers API Gateway adds. */
function proxyHeaders(req: http.IncomingMessage, sourceIp: string) {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), req.rawHeaders[i + 1]!];
  }
  const present = new Set(Object.keys(multiValueHeaders).map((n) => n.toLowerCase()));
  const forwarded: Record<string, string> = {
    'X-Forwarded-For': sourceIp,
    'X-Forwarded-Port': String(req.socket.localPort ?? ''),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(forwarded)) {
    if (!present.has(name.toLowerCase())) multiValueHeaders[name] = [value];
  }
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v.at(-1)!]));
  return { headers, multiValueHeaders };
}

function isBinaryMediaType(contentType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const [main, sub] = type.split('/');
  return binaryMediaTypes.some((pattern) => {
    const [pMain, pSub] = pattern.toLowerCase().split('/');
    return (pMain === '*' || pMain === main) && (pSub === '*' || pSub === sub);
  });
}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== 'object' || value === null) return false;
  const { statusCode, body } = value as { statusCode?: unknown; body?: unknown };
  return Number.isInteger(statusCode) && (body === undefined || body === null || typeof body === 'string');
}

function writeResult(res: http.ServerResponse, requestId: string, result: APIGatewayProxyResult): void {
  const headers = new Map<string, { name: string; values: string[] }>();
  const add = (name: string, value: boolean | number | string) => {
    const key = name.toLowerCase();
    const entry = headers.get(key) ?? { name, values: [] };
    entry.values.push(String(value));
    headers.set(key, entry);
  };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) for (const v of values) add(name, v);
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (!headers.get(name.toLowerCase())?.values.includes(String(value))) add(name, value);
  }
  // API Gateway answers with JSON unless the integration says otherwise.
  if (!headers.has('content-type')) add('Content-Type', 'application/json');
  add('x-amzn-RequestId', requestId);
  for (const { name, values } of headers.values()) res.setHeader(name, values.length === 1 ? values[0]! : values);
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  res.setHeader('Content-Length', body.length);
  res.writeHead(result.statusCode);
  res.end(body);
}

/** API Gateway's answer when the integration failed or returned something that is not a proxy result. */
function replyInternalError(res: http.ServerResponse, requestId: string): void {
  reply(
    res,
    502,
    requestId,
    { message: 'Internal server error' },
    { 'x-amzn-ErrorType': 'InternalServerErrorException' },
  );
}

function reply(
  res: http.ServerResponse,
  status: number,
  requestId: string,
  body: { message: string },
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
    ...headers,
  });
  res.end(text);
}

/** The body, or 'too-large' once it passes API Gateway's 10 MB limit (the rest is read and dropped). */
async function readBody(req: http.IncomingMessage): Promise<Buffer | 'too-large'> {
  if (Number(header(req, 'content-length') ?? 0) > MAX_BODY_BYTES) {
    await discardBody(req);
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
}

async function discardBody(req: http.IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // Reading to the end lets the client finish sending before it gets the answer.
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.at(-1) : value;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestTime` format: `09/Apr/2015:12:34:56 +0000`. */
function apiGatewayTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
