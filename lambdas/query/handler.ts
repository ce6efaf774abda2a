/**
 * Read side of the API: GET /views, /views/{view}/results, /views/{view}/groups, /status, /late, /dead-letters,
 * /failed-batches, /emitted, /anomalies, /health. A router: each route is in ./routes, its parameters checked with
 * ./parameters.ts and its cursors made by ./cursors.ts.
 * Every error names the parameter that is wrong and what would be accepted.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createStateStore, loadConfig, logger } from '../adapters/environment.ts';
import { HttpError, json } from '../adapters/http.ts';
import { type QueryStore, ReadModel } from './read-model.ts';
import { anomalies } from './routes/anomalies.ts';
import { emitted } from './routes/emitted.ts';
import { failedBatches } from './routes/failed-batches.ts';
import { groups } from './routes/groups.ts';
import { results } from './routes/results.ts';
import { sideRecords } from './routes/side-records.ts';
import { status } from './routes/status.ts';
import { views } from './routes/views.ts';

const config = loadConfig();
const store: QueryStore = createStateStore();
const read = new ReadModel(config.spec, store);

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const params = event.queryStringParameters ?? {};
  const view = event.pathParameters?.view ?? '';
  try {
    switch (event.resource) {
      case '/health':
        await store.ping();
        return json(200, { status: 'ok' });
      case '/views':
        return json(200, views(config));
      case '/views/{view}/results':
        return json(200, await results(read, view, params));
      case '/views/{view}/groups':
        return json(200, await groups(read, view, params));
      case '/status':
        return json(200, await status(read));
      case '/late':
        return json(200, await sideRecords(read, 'late', params));
      case '/dead-letters':
        return json(200, await sideRecords(read, 'dead', params));
      case '/failed-batches':
        return json(200, await failedBatches(read, params));
      case '/emitted':
        return json(200, await emitted(read, params));
      case '/anomalies':
        return json(200, await anomalies(read, params));
      default:
        return json(404, { error: `no route for ${event.httpMethod} ${event.path}` });
    }
  } catch (err) {
    if (err instanceof HttpError) return json(err.statusCode, { error: err.message });
    logger.error('query failed', { error: err as Error, resource: event.resource });
    if (event.resource === '/health') return json(503, { status: 'unavailable' });
    throw err;
  }
};
