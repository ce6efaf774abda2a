/**
 * What every handler reads from its environment. On AWS the views config is inlined into the bundle at build
 * time (esbuild `define`, because Lambda caps environment variables at 4 KB); locally the runtime sets it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { normalizeConfig, type PipelineConfig } from '../core/config.ts';
import { createDynamoClient, requireEnv } from './aws-clients.ts';
import { DynamoStateStore } from './dynamo-state-store.ts';
import { RESOURCE_ENV } from './permissions.ts';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'eddy' });

export function loadPipelineConfig(): PipelineConfig {
  return normalizeConfig(JSON.parse(requireEnv('EDDY_CONFIG')));
}

export function createStateStore(): DynamoStateStore {
  return new DynamoStateStore(createDynamoClient(), requireEnv(RESOURCE_ENV.table));
}
