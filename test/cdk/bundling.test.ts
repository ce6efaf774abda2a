import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedConfig, loadConfigFile } from '../../config/load.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

// The only file that bundles the real handlers with esbuild: templates are tested elsewhere without bundling.
describe('EddyFunction bundles', () => {
  let fx: EddyFixture;
  let config: LoadedConfig;

  beforeAll(async () => {
    // GIVEN the real handlers and config/views.ts
    // WHEN the app is synthesized with bundling on
    fx = await buildEddyApp({ bundle: true });
    config = await loadConfigFile();
  });

  // The bundles are a few MB per run; templates-only outdirs elsewhere are left to the OS's temp cleaning.
  afterAll(() => rmSync(fx.app.outdir, { recursive: true, force: true }));

  const bundleOf = (name: 'ingest' | 'aggregate' | 'query') => {
    const resource = fx.statelessTemplate.findResources('AWS::Lambda::Function')[logicalIdOf(fx.stateless[name])];
    const key = resource?.Properties.Code.S3Key as string;
    return path.join(fx.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };

  it.each(['ingest', 'aggregate', 'query'] as const)(
    'builds %s into one ES module that sets EDDY_CONFIG before any handler code runs',
    (name) => {
      const code = readFileSync(path.join(bundleOf(name), 'index.mjs'), 'utf8');
      const firstLine = code.split('\n', 1)[0]!;
      const assignment = /process\.env\.EDDY_CONFIG = ("(?:[^"\\]|\\.)*");/.exec(firstLine);
      expect(assignment).not.toBeNull();
      expect(JSON.parse(JSON.parse(assignment![1]!))).toEqual(config.raw);
    },
  );

  it.each(['ingest', 'aggregate', 'query'] as const)('ships a source map with %s', (name) => {
    const map = JSON.parse(readFileSync(path.join(bundleOf(name), 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.endsWith(`lambdas/${name}/handler.ts`))).toBe(true);
  });
});
