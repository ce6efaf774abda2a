import { afterEach, describe, expect, it } from 'vitest';
import { CORS_ORIGIN_ENV, json } from '../../lambdas/adapters/http.ts';

describe('json answers', () => {
  afterEach(() => {
    delete process.env[CORS_ORIGIN_ENV];
  });

  it('let the deployed dashboard origin read them when the CDK app names it', () => {
    // GIVEN the origin the CDK app sets on the API functions
    process.env[CORS_ORIGIN_ENV] = 'https://d111111abcdef8.cloudfront.net';

    // WHEN a handler answers
    const answer = json(200, { ok: true });

    // THEN the browser may show it to pages of that origin
    expect(answer.headers).toEqual({
      'content-type': 'application/json',
      'access-control-allow-origin': 'https://d111111abcdef8.cloudfront.net',
    });
  });

  it('carry no CORS header without it (locally the dashboard is on the same origin)', () => {
    expect(json(404, { error: 'x' }).headers).toEqual({ 'content-type': 'application/json' });
  });
});
