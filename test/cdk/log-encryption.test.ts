import { beforeAll, describe, expect, it } from 'vitest';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

describe('EddyStateless log groups', () => {
  let fx: EddyFixture;
  let keyImport: unknown;
  const kmsKeyIdOf = (logicalId: string) =>
    fx.statelessTemplate.findResources('AWS::Logs::LogGroup')[logicalId]?.Properties.KmsKeyId;

  beforeAll(async () => {
    // GIVEN the default app
    // WHEN it is synthesized
    fx = await buildEddyApp();
    // The stateful key's ARN, as the stateless stack imports it.
    keyImport = {
      'Fn::ImportValue': expect.stringMatching(
        new RegExp(`^EddyStateful:ExportsOutputFnGetAtt${logicalIdOf(fx.stateful.key)}Arn`),
      ),
    };
  });

  it.each(['ingest', 'aggregate', 'query', 'publish'] as const)(
    "encrypts the %s function's log group with the stateful key",
    (name) => {
      expect(kmsKeyIdOf(logicalIdOf(fx.stateless[name].logGroup))).toEqual(keyImport);
    },
  );

  it('encrypts the API access log group with the stateful key', () => {
    const accessLogs = fx.stateless.api.node.findChild('AccessLogs');
    expect(kmsKeyIdOf(logicalIdOf(accessLogs))).toEqual(keyImport);
  });

  it('leaves no log group unencrypted', () => {
    const unencrypted = Object.entries(fx.statelessTemplate.findResources('AWS::Logs::LogGroup'))
      .filter(([, resource]) => resource.Properties.KmsKeyId === undefined)
      .map(([id]) => id);
    expect(unencrypted).toEqual([]);
  });
});
