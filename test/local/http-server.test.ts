import http from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalApi, type LocalApiOptions, type ProxyHandler, startLocalApi } from '../../local/http-server.ts';
import { quiet } from './emulated-stream.ts';

const apis: LocalApi[] = [];

afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

/** Starts the API with a query handler that records its events and answers `reply` (or 200 `{}`). */
async function startApi(
  options: Partial<LocalApiOptions> = {},
  reply: (event: APIGatewayProxyEvent) => APIGatewayProxyResult = () => ({ statusCode: 200, body: '{}' }),
) {
  const events: APIGatewayProxyEvent[] = [];
  const recording: ProxyHandler = async (event) => {
    events.push(event);
    return reply(event);
  };
  const api = await startLocalApi({
    handlers: { ingest: recording, query: recording },
    port: 0,
    log: quiet,
    ...options,
  });
  apis.push(api);
  return { api, events };
}

describe('local API proxy events', () => {
  it('passes path parameters, the resource and the path', async () => {
    const { api, events } = await startApi();

    await fetch(`${api.url}/views/bids_per_auction/results`);

    expect(events[0]).toMatchObject({
      httpMethod: 'GET',
      resource: '/views/{view}/results',
      path: '/views/bids_per_auction/results',
      pathParameters: { view: 'bids_per_auction' },
      requestContext: { resourcePath: '/views/{view}/results', httpMethod: 'GET', stage: 'local' },
    });
  });

  it('passes query parameters, the last value single and all values multi', async () => {
    const { api, events } = await startApi();

    await fetch(`${api.url}/views/v/results?from=1&group=a&group=b%20c`);

    expect(events[0]!.queryStringParameters).toEqual({ from: '1', group: 'b c' });
    expect(events[0]!.multiValueQueryStringParameters).toEqual({ from: ['1'], group: ['a', 'b c'] });
  });

  it('sets query and path parameters to null when there are none', async () => {
    const { api, events } = await startApi();

    await fetch(`${api.url}/status`);

    expect(events[0]).toMatchObject({ queryStringParameters: null, multiValueQueryStringParameters: null });
    expect(events[0]!.pathParameters).toBeNull();
  });

  it('passes headers as sent, single- and multi-valued', async () => {
    const { api, events } = await startApi();

    await rawRequest(api, 'GET', '/status', [
      ['X-Trace', 'one'],
      ['X-Trace', 'two'],
      ['Idempotency-Key', 'abc'],
    ]);

    expect(events[0]!.headers).toMatchObject({ 'X-Trace': 'two', 'Idempotency-Key': 'abc' });
    expect(events[0]!.multiValueHeaders).toMatchObject({ 'X-Trace': ['one', 'two'], 'Idempotency-Key': ['abc'] });
    expect(events[0]!.requestContext.identity.sourceIp).toBe('127.0.0.1');
  });

  it('passes a JSON body as a UTF-8 string', async () => {
    const { api, events } = await startApi();
    const body = JSON.stringify([{ type: 'bid', note: 'prix €' }]);

    await fetch(`${api.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    expect(events[0]).toMatchObject({ httpMethod: 'POST', resource: '/events', body, isBase64Encoded: false });
  });

  it('passes bodies of binary media types base64-encoded', async () => {
    const { api, events } = await startApi({ binaryMediaTypes: ['application/octet-stream'] });
    const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff]);

    await fetch(`${api.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });

    expect(events[0]).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });

  it('passes a null body when there is none', async () => {
    const { api, events } = await startApi();

    await fetch(`${api.url}/status`);

    expect(events[0]).toMatchObject({ body: null, isBase64Encoded: false });
  });
});

describe('local API responses', () => {
  it('writes the status, headers and body of the proxy result', async () => {
    const { api } = await startApi({}, () => ({
      statusCode: 207,
      headers: { 'Content-Type': 'application/json', 'X-One': 'a' },
      multiValueHeaders: { 'X-Many': ['b', 'c'] },
      body: '{"accepted":1}',
    }));

    const res = await fetch(`${api.url}/status`);

    expect(res.status).toBe(207);
    expect(res.headers.get('x-one')).toBe('a');
    expect(res.headers.get('x-many')).toBe('b, c');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.text()).toBe('{"accepted":1}');
  });

  it('decodes a base64 result body', async () => {
    const { api } = await startApi({}, () => ({
      statusCode: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    }));

    const res = await fetch(`${api.url}/status`);

    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([1, 2, 3]));
  });

  it('answers 404 for a path no route declares, without invoking a handler', async () => {
    const { api, events } = await startApi();

    const res = await fetch(`${api.url}/nowhere`);

    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
    expect(events).toHaveLength(0);
  });

  it('answers 502 like API Gateway when the handler throws', async () => {
    const { api } = await startApi({}, () => {
      throw new Error('boom');
    });

    const res = await fetch(`${api.url}/status`);

    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers 502 when the handler returns something that is not a proxy result', async () => {
    const { api } = await startApi({}, () => ({ body: 'no status' }) as unknown as APIGatewayProxyResult);

    const res = await fetch(`${api.url}/status`);

    expect(res.status).toBe(502);
  });

  it('answers 413 like API Gateway when the event would exceed Lambda’s 6 MB payload limit', async () => {
    const { api, events } = await startApi();

    const res = await fetch(`${api.url}/events`, { method: 'POST', body: Buffer.alloc(7 * 1024 * 1024, 0x20) });

    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Too Long' });
    expect(events).toHaveLength(0);
  });

  it('answers 502 like API Gateway when the handler runs past its timeout', async () => {
    const slow: ProxyHandler = () =>
      new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: '' }), 2_000));
    const api = await startLocalApi({
      handlers: { ingest: slow, query: slow },
      functionTimeoutSeconds: 0.1,
      port: 0,
      log: quiet,
    });
    apis.push(api);

    const res = await fetch(`${api.url}/status`);

    expect(res.status).toBe(502);
  });

  it('answers 413 for a body over 10 MB, without invoking the handler', async () => {
    const { api, events } = await startApi();

    const res = await fetch(`${api.url}/events`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20) });

    expect(res.status).toBe(413);
    expect(events).toHaveLength(0);
  });
});

describe('local API keys', () => {
  it('needs no key when none is configured', async () => {
    const { api } = await startApi();

    expect((await fetch(`${api.url}/status`)).status).toBe(200);
  });

  it('answers 403 Forbidden without the configured key', async () => {
    const { api, events } = await startApi({ apiKey: 'secret' });

    const res = await fetch(`${api.url}/status`, { headers: { 'x-api-key': 'wrong' } });

    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Forbidden' });
    expect(events).toHaveLength(0);
  });

  it('accepts the configured key and shows it in the request identity', async () => {
    const { api, events } = await startApi({ apiKey: 'secret' });

    const res = await fetch(`${api.url}/status`, { headers: { 'x-api-key': 'secret' } });

    expect(res.status).toBe(200);
    expect(events[0]!.requestContext.identity.apiKey).toBe('secret');
  });

  it('lets routes that need no key through without one', async () => {
    const { api } = await startApi({ apiKey: 'secret' });

    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });
});

/** A request with repeated headers, which fetch() would merge into one. */
function rawRequest(api: LocalApi, method: string, path: string, headers: [string, string][]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: api.port, method, path });
    for (const [name, value] of headers) req.appendHeader(name, value);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
