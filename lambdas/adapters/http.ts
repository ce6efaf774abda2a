/** API Gateway proxy responses. */
import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * The environment variable that names the one browser origin allowed to read the API's answers: the hosted
 * dashboard's, set by the CDK app (lib/stateless-stack.ts). Unset locally, where the dashboard is same-origin.
 */
export const CORS_ORIGIN_ENV = 'EDDY_CORS_ORIGIN';

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  const origin = process.env[CORS_ORIGIN_ENV];
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      ...(origin ? { 'access-control-allow-origin': origin } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** An error whose message is safe to show the caller, with the HTTP status it maps to. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Header lookup that ignores case, as HTTP does. */
export function header(
  headers: Record<string, string | undefined> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}
