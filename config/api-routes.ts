/**
 * The HTTP API, declared once: the CDK stack builds the API Gateway REST API from this table and the local
 * runtime routes requests with it, building the same API Gateway proxy events for the same handlers.
 */
export type ApiFunction = 'ingest' | 'query';

export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  /** API Gateway resource path; `{name}` segments become `pathParameters.name`. */
  readonly resource: string;
  readonly function: ApiFunction;
  /**
   * Whether callers must prove who they are: on AWS with the deployment's auth mode (SigV4 or an API key,
   * lib/eddy-api.ts), locally with `x-api-key` when `--api-key` is given.
   */
  readonly authenticated: boolean;
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', resource: '/events', function: 'ingest', authenticated: true },
  { method: 'GET', resource: '/views', function: 'query', authenticated: true },
  { method: 'GET', resource: '/views/{view}/results', function: 'query', authenticated: true },
  { method: 'GET', resource: '/views/{view}/groups', function: 'query', authenticated: true },
  { method: 'GET', resource: '/status', function: 'query', authenticated: true },
  { method: 'GET', resource: '/late', function: 'query', authenticated: true },
  { method: 'GET', resource: '/dead-letters', function: 'query', authenticated: true },
  { method: 'GET', resource: '/failed-batches', function: 'query', authenticated: true },
  { method: 'GET', resource: '/emitted', function: 'query', authenticated: true },
  { method: 'GET', resource: '/anomalies', function: 'query', authenticated: true },
  // Load balancers and uptime checks call /health without credentials; it reveals nothing but readiness.
  { method: 'GET', resource: '/health', function: 'query', authenticated: false },
];
