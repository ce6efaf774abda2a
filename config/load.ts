import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type EddyConfig, normalizeConfig, type PipelineConfig } from '../lambdas/core/config.ts';

export const DEFAULT_CONFIG_FILE = path.join(import.meta.dirname, 'views.ts');

export interface LoadedConfig {
  /** The file it came from. */
  readonly file: string;
  /** As written, JSON-safe: this is what the handlers receive and normalize again. */
  readonly raw: EddyConfig;
  readonly spec: PipelineConfig;
}

/**
 * Loads a views config from a `.ts`, `.js`/`.mjs` (default export) or `.json` file and validates it.
 * Used by the CDK app (`-c config=FILE`) and the local runtime (`--config FILE`), so both run the same views.
 */
export async function loadConfigFile(file: string = DEFAULT_CONFIG_FILE): Promise<LoadedConfig> {
  const resolved = path.resolve(file);
  let raw: unknown;
  try {
    if (resolved.endsWith('.json')) {
      raw = JSON.parse(await readFile(resolved, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(resolved).href)) as { default?: unknown };
      raw = mod.default;
    }
  } catch (err) {
    throw new ConfigError(`cannot read config file ${resolved}: ${(err as Error).message}`);
  }
  if (raw === undefined) throw new ConfigError(`config file ${resolved} has no default export`);
  // Round-trip through JSON so what the CDK app bakes into the functions is exactly what was validated.
  const json = JSON.parse(JSON.stringify(raw)) as EddyConfig;
  return { file: resolved, raw: json, spec: normalizeConfig(json) };
}
