/**
 * What every handler reads from its environment. On AWS the views config is built into the bundle, whose first
 * line sets `process.env.EDDY_CONFIG` (lib/eddy-function.ts; Lambda caps environment variables at 4 KB);
 * locally the runtime sets it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { type EddyConfig, normalizeConfig, type PipelineConfig } from '../core/config.ts';
import { createDynamoClient, requireEnv } from './aws-clients.ts';
import { DynamoStateStore } from './dynamo-state-store.ts';
import { RESOURCE_ENV } from './permissions.ts';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'eddy' });

/** The views config, as written and normalized (the same names as config/load.ts `LoadedConfig`). */
export interface HandlerConfig {
  /** As written, JSON-safe: what GET /views shows, so a client sees the durations as the operator wrote them. */
  readonly raw: EddyConfig;
  readonly spec: PipelineConfig;
}

export function loadConfig(): HandlerConfig {
  const raw = JSON.parse(requireEnv('EDDY_CONFIG')) as EddyConfig;
  return { raw, spec: normalizeConfig(raw) };
}

export function loadPipelineConfig(): PipelineConfig {
  return loadConfig().spec;
}

export function createStateStore(): DynamoStateStore {
  return new DynamoStateStore(createDynamoClient(), requireEnv(RESOURCE_ENV.table));
}
